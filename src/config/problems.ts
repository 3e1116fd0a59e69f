// A problem found in the cluster file, located at the line and column it concerns.
export type Severity = 'error' | 'warning';

export interface Problem {
  file: string;
  line: number;
  column: number;
  severity: Severity;
  code: string;
  message: string;
  hint: string;
}

/** `FILE:LINE:COL: error[CODE]: message` then `  hint: ...`, as compilers print. */
export function formatProblem(p: Problem): string {
  return `${p.file}:${p.line}:${p.column}: ${p.severity}[${p.code}]: ${p.message}\n  hint: ${p.hint}`;
}

export function sortProblems(problems: Problem[]): Problem[] {
  return [...problems].sort((a, b) => a.line - b.line || a.column - b.column || a.code.localeCompare(b.code));
}
