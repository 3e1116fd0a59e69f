export { createRunner, runProcess, relevantLines, describeFailure, type Runner, type RunOptions, type RunResult, type RunnerDeps, type SpawnFn } from './runner.js';
