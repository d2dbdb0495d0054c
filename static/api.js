// Renders /api/openapi.json as a readable list: each operation, who may call it, its body's
// fields and its answers. No inline script (the pages' Content-Security-Policy).
import { $, el } from './lib/dom.js';

function schemaOf(doc, ref) {
  return ref?.$ref ? doc.components.schemas[ref.$ref.split('/').pop()] : ref;
}

function fields(schema) {
  const props = schema?.properties || {};
  const required = new Set(schema?.required || []);
  const rows = Object.entries(props).map(([name, prop]) => {
    const type = prop.type || (prop.anyOf || []).map((p) => p.type).join(' | ') || 'value';
    const limits = ['minLength', 'maxLength', 'minimum', 'maximum']
      .filter((k) => prop[k] !== undefined)
      .map((k) => `${k} ${prop[k]}`)
      .join(', ');
    return el(
      'tr',
      {},
      el('td', {}, el('code', { text: name })),
      el('td', { text: type }),
      el('td', { text: required.has(name) ? 'required' : 'optional' }),
      el('td', { text: limits }),
    );
  });
  if (rows.length === 0) return el('p', { text: 'Body: an empty JSON object.' });
  return el('table', {}, el('tbody', {}, ...rows));
}

function operation(doc, method, path, op) {
  const who = (op.security || []).map((s) => Object.keys(s)[0]).join(' or ') || 'anyone';
  const body = op.requestBody?.content['application/json'].schema;
  return el(
    'section',
    { class: 'operation' },
    el('h2', {}, el('code', { text: `${method.toUpperCase()} ${path}` })),
    el('p', { text: `${op.summary}. Who: ${who}.` }),
    body ? fields(schemaOf(doc, body)) : null,
    el('p', { text: `Answers: ${Object.keys(op.responses).join(', ')}.` }),
  );
}

async function main() {
  let doc;
  try {
    const response = await fetch('/api/openapi.json');
    doc = await response.json();
  } catch {
    $('status').textContent = 'The API document could not be loaded.';
    return;
  }
  const sections = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      sections.push(operation(doc, method, path, op));
    }
  }
  $('operations').replaceChildren(...sections);
  $('status').textContent = `${sections.length} operations.`;
}

main();
