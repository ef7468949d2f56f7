// The page's elements are static (index.html): found by id, and new ones built
// with text and attributes, never from markup.

export const $ = (id) => document.getElementById(id);

/** A DOM element with text set safely (textContent) and optional attributes. */
export function el(tag, { className, text, attrs } = {}) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  for (const [name, value] of Object.entries(attrs ?? {})) node.setAttribute(name, value);
  return node;
}
