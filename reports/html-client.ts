/**
 * The script index.html runs in the browser: it reads the page's embedded data (reports/timeline.ts)
 * and draws each chart with uPlot (embedded in the page too). Plain ES2020, no imports: it is
 * inlined as text. Fault windows are shaded red and phase boundaries drawn as dashed lines on every
 * chart over time; hovering shows each series' value at that second in the legend.
 */
export const CLIENT_SCRIPT = `
(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('reclab-data').textContent);
  var T = D.timeline;
  var PALETTE = ['#2e7d32', '#1565c0', '#6a1b9a', '#00838f', '#ef6c00', '#c62828', '#4e342e', '#546e7a'];
  var RUNG_COLOURS = {
    full: '#2e7d32', partial_retrieval: '#7cb342', light_ranker: '#00838f', retrieval_scores: '#1565c0',
    default_features: '#6a1b9a', popularity: '#ef6c00', editorial: '#c62828', none: '#9e9e9e'
  };
  function width(el) { return Math.max(320, Math.min(1100, el.clientWidth || 900)); }

  // Fault windows (shaded) and phase boundaries (dashed, named) under the series.
  function marks() {
    return {
      hooks: {
        drawClear: [function (u) {
          var ctx = u.ctx, top = u.bbox.top, h = u.bbox.height;
          ctx.save();
          ctx.fillStyle = 'rgba(198, 40, 40, 0.14)';
          T.faults.forEach(function (f) {
            var x0 = u.valToPos(f.fromX, 'x', true), x1 = u.valToPos(f.toX, 'x', true);
            ctx.fillRect(x0, top, Math.max(x1 - x0, 3 * devicePixelRatio), h);
          });
          ctx.strokeStyle = 'rgba(0, 0, 0, 0.35)';
          ctx.fillStyle = 'rgba(0, 0, 0, 0.55)';
          ctx.setLineDash([4 * devicePixelRatio, 4 * devicePixelRatio]);
          ctx.font = (11 * devicePixelRatio) + 'px sans-serif';
          T.phases.forEach(function (p) {
            var x = u.valToPos(p.fromX, 'x', true);
            ctx.beginPath(); ctx.moveTo(x, top); ctx.lineTo(x, top + h); ctx.stroke();
            ctx.fillText(p.name + (p.warmup ? ' (warm-up)' : ''), x + 4 * devicePixelRatio, top + 12 * devicePixelRatio);
          });
          ctx.restore();
        }]
      }
    };
  }

  function timeChart(id, title, yLabel, series, data, extra) {
    var el = document.getElementById(id);
    if (!el) return;
    var opts = {
      title: title,
      width: width(el),
      height: 260,
      plugins: [marks()],
      scales: { x: { time: false } },
      axes: [{ label: 's from start' }, { label: yLabel, size: 60 }],
      series: [{ label: 's' }].concat(series)
    };
    if (extra) extra(opts);
    new uPlot(opts, [T.x].concat(data), el);
  }

  if (T.x.length > 0) {
    timeChart('chart-latency', 'Latency percentiles per second (from the intended send time)', 'ms', [
      { label: 'p50', stroke: '#2e7d32', width: 1.5 },
      { label: 'p95', stroke: '#ef6c00', width: 1.5 },
      { label: 'p99', stroke: '#c62828', width: 2 }
    ], [T.p50, T.p95, T.p99]);

    timeChart('chart-rate', 'Offered vs achieved rate', 'requests/s', [
      { label: 'offered', stroke: '#546e7a', width: 2, dash: [6, 4] },
      { label: 'achieved', stroke: '#1565c0', width: 1.5 }
    ], [T.offeredQps, T.achievedQps]);

    // Rung mix stacked: each series is drawn as the cumulative share up to its rung, the deepest
    // rung first, so every band's height is that rung's share; the legend shows the rung's own share.
    var cum = [], acc = T.x.map(function () { return 0; });
    T.rungs.forEach(function (r) {
      acc = acc.map(function (a, i) { return r.share[i] === null ? null : (a || 0) + r.share[i]; });
      cum.push(acc.map(function (v) { return v === null ? null : Math.round(v * 1000) / 10; }));
    });
    var rungSeries = T.rungs.map(function (r, k) {
      var c = RUNG_COLOURS[r.name] || PALETTE[k % PALETTE.length];
      return {
        label: r.name, stroke: c, fill: c + 'cc', width: 1, points: { show: false },
        value: function (u, v, si, i) { return i == null || r.share[i] === null ? '—' : (r.share[i] * 100).toFixed(1) + '%'; }
      };
    });
    timeChart('chart-rungs', 'Fallback rung mix (share of 2xx responses)', '%',
      rungSeries.slice().reverse(), cum.slice().reverse(),
      function (o) { o.scales.y = { range: [0, 100] }; });

    timeChart('chart-errors', 'Shed (503) and other errors', 'requests/s', [
      { label: 'shed 503', stroke: '#ef6c00', width: 1.5, fill: 'rgba(239,108,0,0.15)' },
      { label: 'other errors', stroke: '#c62828', width: 1.5, fill: 'rgba(198,40,40,0.15)' }
    ], [T.shedQps, T.errorsQps]);
  }

  // Latency distribution: x is the percentile in "nines" (-log10(1 - q)), the usual HdrHistogram plot.
  var dists = D.distributions;
  var distEl = document.getElementById('chart-distribution');
  if (distEl && dists.length > 0) {
    var qs = dists[0].percentiles.map(function (q) { return q >= 100 ? 5 : -Math.log10(1 - q / 100); });
    var ticks = [0, 1, 2, 3, 4, 5];
    var tickLabel = { 0: '0%', 1: '90%', 2: '99%', 3: '99.9%', 4: '99.99%', 5: 'max' };
    new uPlot({
      title: 'Latency distribution per measured phase (whole-phase HdrHistogram)',
      width: width(distEl), height: 260,
      scales: { x: { time: false, range: [0, 5] } },
      axes: [
        { label: 'percentile', splits: function () { return ticks; }, values: function (u, vs) { return vs.map(function (v) { return tickLabel[v]; }); } },
        { label: 'ms', size: 60 }
      ],
      series: [{ label: 'percentile', value: function (u, v, si, i) { return i == null ? '—' : dists[0].percentiles[i] + '%'; } }]
        .concat(dists.map(function (d, k) { return { label: d.phase, stroke: PALETTE[k % PALETTE.length], width: 2 }; }))
    }, [qs].concat(dists.map(function (d) { return d.ms; })), distEl);
  }
  document.body.setAttribute('data-charts', 'ready');
})();
`;
