// Kubernetes resource quantities to numbers: CPU to millicores, memory to bytes.
// Only what pod requests and node allocatable use in practice; anything else throws.

const binary: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const decimal: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

const quantityPattern = /^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$/;

/** The value of a quantity in base units ("500m" -> 0.5, "1Gi" -> 1073741824). */
export function parseQuantity(text: string | number): number {
  if (typeof text === 'number') return text;
  const match = quantityPattern.exec(text.trim());
  if (!match) throw new Error(`not a Kubernetes quantity: ${JSON.stringify(text)}`);
  const [, num, suffix = ''] = match;
  const factor = binary[suffix] ?? decimal[suffix];
  if (factor === undefined) throw new Error(`not a Kubernetes quantity: ${JSON.stringify(text)}`);
  return Number(num) * factor;
}

/** CPU quantity to millicores, rounded up like the scheduler does ("250m" -> 250, "2" -> 2000). */
export function cpuMillis(text: string | number | undefined): number {
  if (text === undefined) return 0;
  return Math.ceil(parseQuantity(text) * 1000 - 1e-9);
}

/** Memory quantity to bytes ("512Mi" -> 536870912). */
export function memoryBytes(text: string | number | undefined): number {
  if (text === undefined) return 0;
  return Math.ceil(parseQuantity(text) - 1e-9);
}
