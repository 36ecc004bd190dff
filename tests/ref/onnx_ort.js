// onnx_ort.js - run an ONNX file written by `backprop export` in ONNX Runtime
// (the onnxruntime-node package) and compare its outputs with `backprop
// predict`'s on the same rows.
//
// Usage: node onnx_ort.js MODEL.onnx INPUTS.csv PREDICTIONS.csv
// (NODE_PATH names the node_modules folder that holds onnxruntime-node.)
// INPUTS.csv holds the raw inputs, one row per sample, no header, in the
// order the graph's input flattens them (C, H, W); PREDICTIONS.csv the
// outputs predict gave for them. The largest difference must be at most
// 1e-5 (relative above 1). Prints it; exits 1 on any disagreement.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

const TOL = 1e-5;

function fail(msg) {
    console.error('FAIL: ' + msg);
    process.exit(1);
}

function readCsv(path) {
    return fs.readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '')
        .map((l) => l.split(',').map(Number));
}

async function main() {
    const [model, inputsCsv, predCsv] = process.argv.slice(2);
    const x = readCsv(inputsCsv), want = readCsv(predCsv);
    if (x.length === 0 || x.length !== want.length)
        fail(`${x.length} input rows and ${want.length} prediction rows`);
    const session = await ort.InferenceSession.create(model);
    if (session.inputNames.length !== 1 || session.outputNames.length !== 1)
        fail(`inputs ${session.inputNames}, outputs ${session.outputNames}: expected one each`);
    // The input's shape from the file: [batch, I] or [batch, C, H, W].
    const meta = session.inputMetadata ? session.inputMetadata[0] : null;
    let dims = meta && meta.shape ? meta.shape.slice(1) : [x[0].length];
    if (dims.some((d) => typeof d !== 'number'))
        fail(`the input's shape ${JSON.stringify(meta.shape)} is not fixed past the batch`);
    const I = dims.reduce((a, b) => a * b, 1);
    if (I !== x[0].length) fail(`the graph takes ${I} inputs per row, the rows hold ${x[0].length}`);
    const flat = new Float32Array(x.length * I);
    x.forEach((row, r) => flat.set(row, r * I));
    const feeds = {};
    feeds[session.inputNames[0]] = new ort.Tensor('float32', flat, [x.length, ...dims]);
    const out = (await session.run(feeds))[session.outputNames[0]];
    const O = want[0].length;
    if (out.dims.length !== 2 || out.dims[0] !== x.length || out.dims[1] !== O)
        fail(`outputs of shape [${out.dims}], predict gave [${x.length}, ${O}]`);
    let worst = 0, at = -1;
    for (let r = 0; r < x.length; r++)
        for (let o = 0; o < O; o++) {
            const w = want[r][o], g = out.data[r * O + o];
            const d = Math.abs(g - w) / Math.max(1, Math.abs(w));
            if (!(d <= worst)) { worst = d; at = r; }
        }
    console.log(`${model}: input [batch, ${dims.join(', ')}], ${x.length} rows, ` +
                `largest difference ${worst.toPrecision(3)}`);
    if (!(worst <= TOL)) fail(`ONNX Runtime and backprop differ by ${worst} (row ${at + 1})`);
}

main().catch((e) => fail(String(e && e.message ? e.message : e)));
