// Placeholder until the lab lands: the integration project's global setup brings the lab up
// once per run and down at the end (see lab/README.md).
export default function setup(): void {}
