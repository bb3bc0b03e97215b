#!/usr/bin/env node
// `npx ask-code "prompt"`: runs commands/askCode.ts without a build step (ts-node with swc, as the npm scripts).
"use strict";
const path = require("node:path");
require("ts-node").register({ swc: true, project: path.join(__dirname, "..", "tsconfig.json") });
const { execute, processIO } = require("../commands/cli");
const { askCodeCommand } = require("../commands/askCode");
execute(askCodeCommand, process.argv.slice(2), processIO()).then((code) => {
    process.exitCode = code;
});
