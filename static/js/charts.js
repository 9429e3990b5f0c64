// Retention CRM: draws the metrics charts with Chart.js (static/vendor/chartjs).
//
// Each chart is a <canvas data-chart-source="ID"> next to a <script type="application/json" id="ID">
// written by Django's json_script from metrics/charts.py. The spec is small and declarative:
//   {type: "line" | "bar" | "scatter", labels: [...], horizontal: bool,
//    datasets: [{label, data, color, dashed, fill}],
//    x: {percent, min, max, suggestedMin, title}, y: {...}}
// No data lives in this file. After drawing, the canvas gets data-rendered="true".
(function () {
  "use strict";

  // The server's formatting locale (retention_crm/formats.py: "en-GB", "ca", ...), so that the axes
  // and tooltips write numbers as the page around them does; labels arrive already formatted.
  var lang = (document.body && document.body.getAttribute("data-locale")) || document.documentElement.lang || undefined;
  var percentFormat = new Intl.NumberFormat(lang, { style: "percent", maximumFractionDigits: 1 });
  var numberFormat = new Intl.NumberFormat(lang, { maximumFractionDigits: 2 });

  function readSpec(id) {
    var element = document.getElementById(id);
    if (!element) {
      return null;
    }
    try {
      return JSON.parse(element.textContent);
    } catch (error) {
      return null;
    }
  }

  function formatter(axis) {
    return axis && axis.percent ? percentFormat.format : numberFormat.format;
  }

  function scale(axis, isCategory) {
    axis = axis || {};
    var options = {};
    if (!isCategory) {
      options.ticks = {
        callback: function (value) {
          return formatter(axis)(value);
        },
      };
    }
    ["min", "max", "suggestedMin", "suggestedMax"].forEach(function (key) {
      if (axis[key] !== undefined && axis[key] !== null) {
        options[key] = axis[key];
      }
    });
    if (axis.title) {
      options.title = { display: true, text: axis.title };
    }
    return options;
  }

  function dataset(spec, item) {
    var color = item.color || "#0d6efd";
    var result = {
      label: item.label,
      data: item.data,
      borderColor: color,
      backgroundColor: spec.type === "bar" ? color + "cc" : color + "33",
      borderWidth: 2,
      fill: Boolean(item.fill),
      spanGaps: false,
      tension: 0.2,
    };
    if (item.dashed) {
      result.borderDash = [6, 4];
      result.borderWidth = 1.5;
    }
    if (spec.type === "scatter") {
      result.showLine = true;
      result.pointRadius = 0;
      result.pointHitRadius = 6;
    } else if (spec.type === "line") {
      result.pointRadius = item.data.length > 40 ? 0 : 3;
    }
    return result;
  }

  function config(spec) {
    var horizontal = Boolean(spec.horizontal);
    var valueAxis = horizontal ? spec.x : spec.y;
    var scales = {
      x: scale(spec.x, spec.type !== "scatter" && !horizontal),
      y: scale(spec.y, horizontal),
    };
    if (spec.type === "scatter") {
      scales.x.type = "linear";
    }
    return {
      type: spec.type,
      data: {
        labels: spec.labels || undefined,
        datasets: spec.datasets.map(function (item) {
          return dataset(spec, item);
        }),
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        indexAxis: horizontal ? "y" : "x",
        scales: scales,
        plugins: {
          legend: { display: spec.datasets.length > 1, position: "bottom" },
          tooltip: {
            callbacks: {
              label: function (context) {
                var raw = context.raw;
                var value = raw !== null && typeof raw === "object" ? raw.y : raw;
                var prefix = context.dataset.label ? context.dataset.label + ": " : "";
                if (value === null || value === undefined) {
                  return prefix + "—";
                }
                return prefix + formatter(valueAxis)(value);
              },
            },
          },
        },
      },
    };
  }

  function render(canvas) {
    if (canvas.getAttribute("data-rendered") === "true" || typeof window.Chart === "undefined") {
      return;
    }
    var spec = readSpec(canvas.getAttribute("data-chart-source"));
    if (!spec || !spec.datasets) {
      return;
    }
    new window.Chart(canvas, config(spec));
    canvas.setAttribute("data-rendered", "true");
  }

  function renderAll(root) {
    Array.prototype.forEach.call((root || document).querySelectorAll("canvas[data-chart-source]"), render);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      renderAll(document);
    });
  } else {
    renderAll(document);
  }
  // Charts in content that htmx swaps in later.
  document.addEventListener("htmx:afterSwap", function (event) {
    renderAll(event.detail.target);
  });
})();
