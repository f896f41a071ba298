// The chart page: draws window.swollData-like JSON (package report's Data) with ECharts, and refreshes it when
// the page is served live.
(function () {
  "use strict";
  var prefix = /^(ns|pod|sys|err):/;
  var charts = {
    sankey: echarts.init(document.getElementById("sankey"), null, { renderer: "svg" }),
    top: echarts.init(document.getElementById("top"), null, { renderer: "svg" }),
    errors: echarts.init(document.getElementById("errors"), null, { renderer: "svg" })
  };

  function text(id, s) { document.getElementById(id).textContent = s; }

  function fmtTime(ms) { return ms ? new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC") : "-"; }

  function draw(d) {
    text("facts", d.calls.toLocaleString("en") + " calls, " + d.errors.toLocaleString("en") + " errors, " +
      d.pods + " pod(s); " + fmtTime(d.from) + " to " + fmtTime(d.to));
    text("losses", (d.losses || []).map(function (l) {
      return "node " + l.node + ": " + l.lost + " events lost, " + l.overflow + " calls not counted (counter table full)";
    }).join("; "));
    document.body.dataset.sankeyNodes = String(d.sankey.nodes.length);
    charts.sankey.setOption({
      animation: false,
      tooltip: { trigger: "item", formatter: function (p) {
        if (p.dataType === "edge") {
          return p.data.source.replace(prefix, "") + " → " + p.data.target.replace(prefix, "") + ": " + p.data.value.toLocaleString("en");
        }
        return p.name.replace(prefix, "") + ": " + (p.value || 0).toLocaleString("en");
      } },
      series: [{
        type: "sankey", left: 10, right: 150, top: 10, bottom: 10,
        nodeAlign: "justify", layoutIterations: 32, emphasis: { focus: "adjacency" },
        label: { formatter: function (p) { return p.name.replace(prefix, ""); } },
        lineStyle: { color: "gradient", opacity: 0.4 },
        data: d.sankey.nodes, links: d.sankey.links
      }]
    }, true);
    var top = d.top.slice().reverse();
    charts.top.setOption({
      animation: false,
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { top: 0, data: ["OK", "errors"] },
      grid: { left: 130, right: 30, top: 30, bottom: 30 },
      xAxis: { type: "value", name: "calls" },
      yAxis: { type: "category", data: top.map(function (t) { return t.syscall; }) },
      series: [
        { name: "OK", type: "bar", stack: "calls", data: top.map(function (t) { return t.calls - t.errors; }) },
        { name: "errors", type: "bar", stack: "calls", color: "#d9534f", data: top.map(function (t) { return t.errors; }) }
      ]
    }, true);
    var names = Object.keys(d.series.errors).sort();
    charts.errors.setOption({
      animation: false,
      tooltip: { trigger: "axis" },
      legend: { top: 0, data: names.length ? names : ["no errors"] },
      grid: { left: 60, right: 30, top: 40, bottom: 40 },
      xAxis: { type: "time" },
      yAxis: { type: "value", name: "errors per " + (d.series.step / 1000) + " s" },
      series: names.length ? names.map(function (e) {
        return { name: e, type: "line", showSymbol: false, data: d.series.times.map(function (t, i) { return [t, d.series.errors[e][i]]; }) };
      }) : [{ name: "no errors", type: "line", data: d.series.times.map(function (t) { return [t, 0]; }) }]
    }, true);
  }

  draw(JSON.parse(document.getElementById("swoll-data").textContent));
  window.addEventListener("resize", function () { Object.keys(charts).forEach(function (k) { charts[k].resize(); }); });
  if (swollLive) {
    setInterval(function () {
      fetch(swollLive, { cache: "no-store" }).then(function (r) { return r.json(); }).then(draw).catch(function () {});
    }, 5000);
  }
})();
