// Validation without zod, for a file the compiled schema accepts (issue 16 §7: `vmstation
// validate` of a valid file must start in at most twice a bare Node start, and zod alone costs
// more than that). Only this module and validate-core.ts are loaded on that path.
import { CLUSTER_FAST_SCHEMA } from './data/cluster-schema.fast.js';
import { FastParser } from './fast-parse.js';
import type { ParsedCluster } from './schema.js';
import { validateWith, type ValidateInput, type ValidateResult } from './validate-core.js';

let parser: FastParser | undefined;

/**
 * The result of validating `input`, when the fast path can give it: the YAML is broken, or the
 * compiled schema accepts the data (then the model is zod's to the byte). Undefined when the
 * schema stage needs zod: the caller runs `validateTextWithZod` for the exact messages.
 */
export function validateTextFast(input: ValidateInput): ValidateResult | undefined {
  parser ??= new FastParser(CLUSTER_FAST_SCHEMA);
  const fast = parser;
  return validateWith(input, (data) => {
    const accepted = fast.parse(data);
    return accepted ? { parsed: accepted.data as ParsedCluster } : undefined;
  });
}
