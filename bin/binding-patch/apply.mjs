// Edits the tfjs-node binding's C++ source before egtea compiles it (bin/install-engine.mjs):
//  - loadGraphDef(bytes): a TF_Session over a GraphDef, which egtea uses to run a traced
//    training step as one call (src/engine/graph/); the stock runSavedModel runs it;
//  - opDef(name): an op's serialized OpDef, to state the attributes eager execution infers;
//  - addFunction(graphDef, name, inputs, outputs) / removeFunction(name): a GraphDef as a
//    function of the eager context, which executeOp then runs by name (graph steps);
//  - enableCollectives(serverDef) / checkCollectivePeer(task, ms): TensorFlow's gRPC server and
//    collective ops for data-parallel training (src/distributed/).
// Each edit is anchored on exact stock text and fails loudly if that text has moved.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const here = path.dirname(new URL(import.meta.url).pathname);
const fragment = (name) => fs.readFileSync(path.join(here, name), 'utf8');

/** Digest of this patch (this script and its C++ fragments): a changed patch means a rebuild. */
export const PATCH_DIGEST = createHash('sha256')
  .update(fs.readFileSync(new URL(import.meta.url)))
  .update(fragment('load_graph_def.cc'))
  .update(fragment('load_graph_def_binding.cc'))
  .update(fragment('add_function.cc'))
  .update(fragment('add_function_binding.cc'))
  .update(fragment('collectives.cc'))
  .update(fragment('collectives_binding.cc'))
  .digest('hex')
  .slice(0, 16);

export const PATCH_MARKER = `// egtea-binding-patch ${PATCH_DIGEST}`;

function edit(file, text, anchor, replacement) {
  const at = text.indexOf(anchor);
  if (at < 0 || text.indexOf(anchor, at + 1) >= 0) throw new Error(`binding patch: ${path.basename(file)} does not contain the expected text once:\n${anchor}`);
  return text.slice(0, at) + replacement + text.slice(at + anchor.length);
}

// Edits always start from the stock text, kept beside the file the first time, so a newer
// patch replaces an older one instead of stacking on it.
function patchFile(file, edits) {
  const stock = `${file}.egtea-stock`;
  if (!fs.existsSync(stock)) {
    if (fs.readFileSync(file, 'utf8').startsWith('// egtea-binding-patch'))
      throw new Error(`binding patch: ${file} carries an older patch and no stock copy; reinstall @tensorflow/tfjs-node-gpu`);
    fs.copyFileSync(file, stock);
  }
  let text = fs.readFileSync(stock, 'utf8');
  for (const [anchor, replacement] of edits) text = edit(file, text, anchor, replacement);
  fs.writeFileSync(file, `${PATCH_MARKER}\n${text}`);
}

/** Applies the edits once; a second call on a patched tree does nothing. Returns whether it edited. */
export function patchBinding(pkgDir) {
  const dir = path.join(pkgDir, 'binding');
  const backend = path.join(dir, 'tfjs_backend.cc');
  if (fs.readFileSync(backend, 'utf8').startsWith(PATCH_MARKER)) return false;

  const getNum = '  napi_value GetNumOfSavedModels(napi_env env);\n';
  patchFile(path.join(dir, 'tfjs_backend.h'), [
    [
      getNum,
      `${getNum}\n  // egtea: a session over a GraphDef given as bytes (see tfjs_backend.cc).\n  napi_value LoadGraphDef(napi_env env, napi_value graph_def_value);\n  napi_value OpDef(napi_env env, napi_value op_name_value);\n  napi_value AddFunction(napi_env env, napi_value graph_def_value, napi_value name_value, napi_value inputs_value, napi_value outputs_value);\n  napi_value RemoveFunction(napi_env env, napi_value name_value);\n  napi_value EnableCollectives(napi_env env, napi_value server_def_value);\n  napi_value CheckCollectivePeer(napi_env env, napi_value task_value, napi_value timeout_ms_value);\n`,
    ],
  ]);

  const end = '}  // namespace tfnodejs';
  const eagerApi = '#include "tensorflow/c/eager/c_api.h"\n';
  patchFile(backend, [
    [eagerApi, `${eagerApi}#include "tensorflow/c/c_api_experimental.h"\n`],
    [end, `${fragment('load_graph_def.cc')}${fragment('add_function.cc')}${fragment('collectives.cc')}${end}`],
  ]);

  const runWrapper = 'static napi_value RunSavedModel(napi_env env, napi_callback_info info) {';
  const runProperty = '      {"runSavedModel", nullptr, RunSavedModel, nullptr, nullptr, nullptr,\n       napi_default, nullptr},\n';
  patchFile(path.join(dir, 'tfjs_binding.cc'), [
    [runWrapper, `${fragment('load_graph_def_binding.cc')}${fragment('add_function_binding.cc')}${fragment('collectives_binding.cc')}${runWrapper}`],
    [
      runProperty,
      `${runProperty}      {"loadGraphDef", nullptr, LoadGraphDef, nullptr, nullptr, nullptr,\n       napi_default, nullptr},\n      {"opDef", nullptr, OpDef, nullptr, nullptr, nullptr,\n       napi_default, nullptr},\n      {"addFunction", nullptr, AddFunction, nullptr, nullptr, nullptr,\n       napi_default, nullptr},\n      {"removeFunction", nullptr, RemoveFunction, nullptr, nullptr, nullptr,\n       napi_default, nullptr},\n      {"enableCollectives", nullptr, EnableCollectives, nullptr, nullptr, nullptr,\n       napi_default, nullptr},\n      {"checkCollectivePeer", nullptr, CheckCollectivePeer, nullptr, nullptr, nullptr,\n       napi_default, nullptr},\n`,
    ],
  ]);
  return true;
}
