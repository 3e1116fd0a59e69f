// Kubernetes resource quantities ("250m", "1.5", "128Mi", "1G") as numbers: CPU in millicores,
// everything else in base units.

const SUFFIX: Record<string, number> = {
  '': 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
  Pi: 1024 ** 5,
  Ei: 1024 ** 6,
};

export function parseQuantity(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string') return 0;
  const m = /^([+-]?[0-9.]+(?:[eE][+-]?\d+)?)([a-zA-Z]*)$/.exec(value.trim());
  if (!m) return 0;
  const mult = SUFFIX[m[2] ?? ''];
  if (mult === undefined) return 0;
  return Number(m[1]) * mult;
}

export function parseCpuMillis(value: unknown): number {
  return Math.round(parseQuantity(value) * 1000);
}
