// Signs a Standard Webhooks request with the reference npm package
// (standardwebhooks), independent of rolehook's C code.
// usage: node sign_sw.js SECRET MSG_ID UNIX_TS BODY_FILE  -> prints headers as JSON
"use strict";
const fs = require("fs");
const { Webhook } = require("standardwebhooks");

const [secret, msgId, ts, bodyFile] = process.argv.slice(2);
const payload = fs.readFileSync(bodyFile, "utf8");
const wh = new Webhook(secret);
const sig = wh.sign(msgId, new Date(Number(ts) * 1000), payload);
// Round trip with the package's own verifier, so a signer bug shows here.
const headers = { "webhook-id": msgId, "webhook-timestamp": ts, "webhook-signature": sig };
if (Math.abs(Date.now() / 1000 - Number(ts)) < 300) wh.verify(payload, headers);
process.stdout.write(JSON.stringify(headers));
