// survmig form-scenario harness: plays scripted operations on forms in ODK Web Forms' engine.
//
// Usage: node harness.mjs ENGINE_ROOT < job.json > result.json
//
// ENGINE_ROOT is the folder whose node_modules holds @getodk/xforms-engine and jsdom (it may differ
// from this script's folder when the package is installed read-only). The job is
//   {"forms": [{"xform": "<h:html…>", "scenarios": [{"name": …, "language": …|null, "ops": [op…]}]}]}
// (each form may also carry "attachments": the folder its attachment files are read from)
// with ops
//   {"op": "answer", "ref": "/data/age", "value": "30" | ["a", "b"]}
//   {"op": "add", "ref": "/data/trip", "count": 1}
//   {"op": "remove", "ref": "/data/trip[2]"}
//   {"op": "observe", "refs": ["/data/age", …]}
//   {"op": "submission"}
// The harness only drives the engine and reports what it sees; survmig compares that with the
// scenario's expectations. One result per op; a scenario stops at its first engine exception.

import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

const engineRoot = process.argv[2];
if (!engineRoot) {
  process.stderr.write('usage: node harness.mjs ENGINE_ROOT < job.json\n');
  process.exit(64);
}
const require = createRequire(path.join(path.resolve(engineRoot), 'package.json'));
const { JSDOM } = require('jsdom');
const dom = new JSDOM('');
globalThis.document = dom.window.document;
for (const name of ['DOMParser', 'XMLSerializer', 'Node', 'Element', 'Document', 'XPathResult']) {
  globalThis[name] = dom.window[name];
}
const enginePath = require.resolve('@getodk/xforms-engine');
// The engine's bundle expects a CommonJS-like environment when it runs outside a browser.
globalThis.__dirname = path.dirname(enginePath);
globalThis.require = require;
const engine = await import(enginePath);

function readStdin() {
  return new Promise((resolve, reject) => {
    const chunks = [];
    process.stdin.on('data', (c) => chunks.push(c));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', reject);
  });
}

// Form attachments (select_one_from_file CSV/XML/GeoJSON) are read from the form's own folder,
// as ODK Central serves the files uploaded with the form.
const MEDIA_TYPES = { '.csv': 'text/csv', '.xml': 'text/xml', '.geojson': 'application/geo+json' };
function attachments(folder) {
  return async (url) => {
    const name = decodeURIComponent(String(url.href ?? url).split('/').pop());
    try {
      const data = await fs.readFile(path.join(folder ?? '.', name));
      const type = MEDIA_TYPES[path.extname(name).toLowerCase()] ?? 'application/octet-stream';
      return new Response(data, { status: 200, headers: { 'content-type': type } });
    } catch {
      return new Response(`form attachment ${name} not found in ${folder}`, { status: 404 });
    }
  };
}

function text(range) {
  try {
    return range ? range.asString : null;
  } catch {
    return null;
  }
}

function index(root) {
  const byRef = new Map();
  const visit = (node) => {
    byRef.set(node.currentState.reference, node);
    for (const child of node.currentState.children ?? []) visit(child);
  };
  visit(root);
  return byRef;
}

function violationOf(node) {
  const state = node.validationState;
  if (!state || !('violation' in state)) return null;
  const v = state.violation;
  return v ? { condition: v.condition, message: text(v.message) } : null;
}

function describe(node) {
  if (!node) return { exists: false };
  const state = node.currentState;
  const out = {
    exists: true,
    nodeType: node.nodeType,
    relevant: state.relevant,
    required: state.required,
    readonly: state.readonly,
  };
  if (state.children) {
    out.instances = node.nodeType.startsWith('repeat-range') ? state.children.length : null;
  } else {
    out.value = state.instanceValue ?? '';
    out.violation = violationOf(node);
  }
  return out;
}

function answer(node, value) {
  if (!node) return { problem: 'missing' };
  const state = node.currentState;
  if (!state.relevant) return { problem: 'not-relevant' };
  switch (node.nodeType) {
    case 'select': {
      const values = Array.isArray(value) ? value : value === null ? [] : [value];
      const offered = state.valueOptions.map((item) => item.value);
      const missing = values.filter((v) => !offered.includes(v));
      if (missing.length) return { problem: 'not-offered', missing, offered };
      if (node.selectType === 'select1') {
        if (values.length > 1) return { problem: 'one-only' };
        node.selectValue(values.length ? values[0] : null);
      } else {
        node.selectValues(values);
      }
      break;
    }
    case 'rank':
      node.setValues(Array.isArray(value) ? value : value === null ? [] : [value]);
      break;
    case 'trigger':
      // acknowledge: any answer ticks it ("OK", true); null, "" or "false" clears it
      if (state.readonly) return { problem: 'readonly' };
      node.setValue(!(value === null || value === '' || value === 'false'));
      break;
    case 'input':
    case 'range':
      if (state.readonly) return { problem: 'readonly' };
      node.setValue(value === null ? '' : value);
      break;
    default:
      return { problem: 'not-answerable', nodeType: node.nodeType };
  }
  return { stored: node.currentState.instanceValue ?? '', violation: violationOf(node) };
}

async function play(form, scenario) {
  const results = [];
  const instance = form.createInstance();
  const root = instance.root;
  if (scenario.language) {
    const language = root.languages.find((l) => l.language === scenario.language);
    if (language) root.setLanguage(language);
  }
  for (const op of scenario.ops) {
    try {
      const nodes = index(root);
      switch (op.op) {
        case 'answer':
          results.push(answer(nodes.get(op.ref), op.value));
          break;
        case 'add': {
          const node = nodes.get(op.ref);
          if (!node) results.push({ problem: 'missing' });
          else if (node.nodeType !== 'repeat-range:uncontrolled') results.push({ problem: 'controlled' });
          else if (!node.currentState.relevant) results.push({ problem: 'not-relevant' });
          else {
            node.addInstances(undefined, op.count);
            results.push({ instances: node.currentState.children.length });
          }
          break;
        }
        case 'remove': {
          const node = nodes.get(op.ref);
          const range = node?.parent;
          if (!node || node.nodeType !== 'repeat-instance') results.push({ problem: 'missing' });
          else if (range.nodeType !== 'repeat-range:uncontrolled') results.push({ problem: 'controlled' });
          else {
            range.removeInstances(range.currentState.children.indexOf(node), 1);
            results.push({ instances: range.currentState.children.length });
          }
          break;
        }
        case 'observe':
          results.push({ nodes: Object.fromEntries(op.refs.map((ref) => [ref, describe(nodes.get(ref))])) });
          break;
        case 'submission': {
          const payload = await root.prepareInstancePayload();
          const file = payload.data[0].get(engine.constants.INSTANCE_FILE_NAME);
          results.push({
            status: payload.status,
            xml: await file.text(),
            violations: (payload.violations ?? []).map((v) => ({
              ref: v.reference,
              condition: v.violation?.condition ?? null,
              message: text(v.violation?.message),
            })),
          });
          break;
        }
        default:
          results.push({ error: `unknown operation ${op.op}` });
      }
    } catch (err) {
      results.push({ error: String(err?.message ?? err) });
      break;
    }
  }
  return results;
}

const job = JSON.parse(await readStdin());
const output = { engine: engine.constants ? 'ok' : 'unknown', forms: [] };
for (const form of job.forms) {
  let loaded;
  try {
    loaded = await engine.loadForm(form.xform, { fetchFormAttachment: attachments(form.attachments) });
  } catch (err) {
    output.forms.push({ error: String(err?.message ?? err) });
    continue;
  }
  if (loaded.status === 'failure') {
    output.forms.push({ error: String(loaded.error?.message ?? loaded.error) });
    continue;
  }
  const languages = [];
  const scenarios = [];
  for (const scenario of form.scenarios) {
    try {
      scenarios.push({ results: await play(loaded, scenario) });
    } catch (err) {
      scenarios.push({ results: [], error: String(err?.message ?? err) });
    }
  }
  try {
    languages.push(...loaded.createInstance().root.languages.map((l) => l.language));
  } catch {
    // languages are informative only
  }
  output.forms.push({ languages, scenarios });
}
process.stdout.write(JSON.stringify(output));
