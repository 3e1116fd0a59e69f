// The power simulator: traces, the oracle and simulate().
export { parseTrace, TraceError, type Trace, type TraceEvent, type TraceHeader, type TraceContext } from './trace.js';
export { oracleEnergy, mergeIntervals, type Interval, type OracleInput, type OracleResult } from './oracle.js';
export { simulate, simulatePolicy, type SimulateOptions, type SimulationReport, type NodeReport, type LatencySummary, type TransitionRecord } from './simulate.js';
