/**
 * The stack config schema: every `ai-gateway:*` key (config/stackKeys.ts and the files it assembles), its
 * default and what it allows, and the rules that span several keys (config/crossChecks.ts).
 *
 * The keys' files are the one place where defaults live. The config reference (docs/configuration.md) is generated
 * from them (`npm run docs:config`), and a test fails when the two drift apart.
 */
import { checkCrossReferences } from "./crossChecks";
import { stackShape } from "./stackKeys";

/** The whole `ai-gateway:*` namespace of a stack config. */
export const stackSchema = stackShape.superRefine(checkCrossReferences);
