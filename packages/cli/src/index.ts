export { buildProgram, run } from './main.js';
