// DOM helpers shared by every page. Text goes in through textContent or a property, never as HTML.

export const $ = (id) => document.getElementById(id);

/** Shows or hides the element with this id. */
export function show(id, visible = true) {
  $(id).hidden = !visible;
}

/**
 * A new element: `el('a', { href, class: 'btn', text: 'Open' }, ...children)`. Attributes that
 * are null or undefined are left out; a boolean sets the property of that name (or the empty
 * attribute); null, undefined and false children are skipped.
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (typeof value === 'boolean') {
      if (key in node) node[key] = value;
      else if (value) node.setAttribute(key, '');
    } else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child);
  }
  return node;
}
