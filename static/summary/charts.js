// The summary page's charts (Chart.js, global `Chart`): one chart per canvas, labels written on
// the bars, lanes sized to their count, and the time axis of the timelines.
import { $ } from '../lib/dom.js';

export const charts = {}; // canvas id -> Chart

// Writes each bar's text (dataset.barText: a string, or an array by bar) inside the bar when it
// fits, so the charts read without colour and in print.
const barText = {
  id: 'circleBarText',
  afterDatasetsDraw(chartInstance) {
    const { ctx } = chartInstance;
    ctx.save();
    ctx.font = '600 12px system-ui, sans-serif';
    ctx.textBaseline = 'middle';
    chartInstance.data.datasets.forEach((dataset, i) => {
      const meta = chartInstance.getDatasetMeta(i);
      if (!dataset.barText || !chartInstance.isDatasetVisible(i)) return;
      meta.data.forEach((bar, j) => {
        const text = Array.isArray(dataset.barText) ? dataset.barText[j] : dataset.barText;
        if (!text) return;
        const { x, y, base } = bar.getProps(['x', 'y', 'base'], true);
        const left = Math.min(x, base);
        const width = Math.abs(x - base);
        const textWidth = ctx.measureText(text).width;
        if (textWidth + 8 <= width) {
          ctx.fillStyle = dataset.barTextColour || '#fff';
          ctx.fillText(text, left + 4, y);
        } else if (dataset.barTextOutside) {
          ctx.fillStyle = '#1f2328';
          ctx.fillText(text, Math.max(x, base) + 4, y);
        }
      });
    });
    ctx.restore();
  },
};

export function chart(id, config, label) {
  if (charts[id]) charts[id].destroy();
  const canvas = $(id);
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', label);
  canvas.textContent = label; // fallback content
  charts[id] = new Chart(canvas, {
    ...config,
    plugins: [barText],
    options: { animation: false, maintainAspectRatio: false, ...config.options },
  });
}

export function fitLanes(id, lanes) {
  $(id).parentElement.style.height = `${Math.max(140, lanes * 30 + 90)}px`;
}

// The x axis of both timelines: seconds for a short session, else minutes, from its start.
export function timeAxis(s) {
  const span = s.duration_s || 0;
  const unit = span < 180 ? { per: 1, name: 'seconds' } : { per: 60, name: 'minutes' };
  const at = (unix) => Math.max(0, (unix - (s.started_at ?? unix)) / unit.per);
  const end = s.started_at == null ? 0 : s.started_at + span;
  return {
    at,
    end,
    scale: {
      min: 0,
      max: Math.max(Math.ceil(at(end)), 1),
      title: { display: true, text: `${unit.name} from the start` },
    },
  };
}

// [[at, level], ...] to spans, each lasting until the next change (or `end`).
export function levelSpans(timeline, end) {
  return timeline.map(([at, level], i) => ({
    level,
    from: at,
    to: i + 1 < timeline.length ? timeline[i + 1][0] : Math.max(at, end),
  }));
}
