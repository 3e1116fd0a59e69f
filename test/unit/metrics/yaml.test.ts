// The fast emitter used for the metrics config files: parsing its output (with the same YAML
// library the rest of the project uses) gives the input back, for arbitrary data.
import fc from 'fast-check';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { fastYaml } from '../../../src/render/metrics/yaml.js';

const scalar = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('true', 'no', 'null', '~', '1e3', '0x1F', '12:30', '2026-01-01', '30s', '1h30m', '- a', 'a: b', 'a #b', '{{ $labels.node }}', '@file:/x', "it's", '', ' ', '*', '&a', '!tag', '|', '>', '%x', '`x'),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Object.is(d, -0)),
  fc.boolean(),
  fc.constant(null),
);
const data = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, scalar, tie('list'), tie('map')),
  list: fc.array(tie('value'), { maxLength: 5 }),
  map: fc.dictionary(fc.string({ unit: 'binary', maxLength: 30 }), tie('value'), { maxKeys: 5 }),
})).value;

describe('fastYaml', () => {
  it('round-trips arbitrary plain data', () => {
    fc.assert(
      fc.property(data, (value) => {
        expect(parse(fastYaml(value))).toEqual(value);
      }),
      { numRuns: 2000 },
    );
  });

  it('writes readable YAML: plain words and durations, quoted PromQL, indented sequences', () => {
    expect(fastYaml({ global: { scrape_interval: '30s' }, rule_files: ['rules/*.yaml'], expr: 'up{job="x"} == 0', empty: [], labels: {} })).toBe(
      ['global:', '  scrape_interval: 30s', 'rule_files:', '  - rules/*.yaml', 'expr: "up{job=\\"x\\"} == 0"', 'empty: []', 'labels: {}', ''].join('\n'),
    );
  });
});
