// The CLI's version, in a module of its own: the verbs and the image reference need it, and
// importing it from main.ts (which loads the verbs) would make an import cycle.
export const VERSION = '0.1.0';
