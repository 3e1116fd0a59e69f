export * from './client.js';
export * from './slim.js';
