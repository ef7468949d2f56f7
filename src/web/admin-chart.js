// One small line chart per series for the observer page, in inline SVG: the
// last 5 minutes at one point a second, its axis max labelled, the value now.

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 300;
const HEIGHT = 90;
const SPAN_MS = 300_000;

const format = (value) => (value >= 10_000 ? `${Math.round(value / 1000)}k` : Number.isInteger(value) ? String(value) : value.toFixed(1));

/** A chart under `parent`; `update(at, values)` redraws it from the columns /admin/stats sends. */
export function lineChart(parent, { title, className = '' }) {
  const figure = document.createElement('figure');
  figure.className = `chart ${className}`;
  const caption = document.createElement('figcaption');
  const name = document.createElement('span');
  name.textContent = title;
  const now = document.createElement('span');
  now.className = 'now';
  caption.append(name, now);
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${WIDTH} ${HEIGHT}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', title);
  const line = document.createElementNS(SVG, 'polyline');
  svg.append(line);
  const axis = document.createElement('div');
  axis.className = 'axis';
  const max = document.createElement('span');
  const span = document.createElement('span');
  span.textContent = '−5 min … now';
  axis.append(max, span);
  figure.append(caption, svg, axis);
  parent.append(figure);

  return {
    update(at, values) {
      const end = at.at(-1) ?? Date.now();
      // A round top, so the scale does not jitter with every point; never 0, so a flat line sits at the bottom.
      const top = niceCeiling(Math.max(1, ...values));
      const points = values.map((value, i) => {
        const x = WIDTH - ((end - at[i]) / SPAN_MS) * WIDTH;
        const y = HEIGHT - (value / top) * (HEIGHT - 2);
        return `${x.toFixed(1)},${y.toFixed(1)}`;
      });
      line.setAttribute('points', points.join(' '));
      now.textContent = values.length === 0 ? '–' : format(values.at(-1));
      max.textContent = `max ${format(top)}`;
      figure.dataset.points = String(values.length);
      figure.dataset.now = values.length === 0 ? '' : String(values.at(-1));
    },
  };
}

function niceCeiling(value) {
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (value <= step * magnitude) return step * magnitude;
  return 10 * magnitude;
}
