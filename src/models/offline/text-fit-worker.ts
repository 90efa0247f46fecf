// Worker-thread entry point of the text-fit pool (text-fit-pool.ts): piscina calls the default export.
import { runTextFitTask } from './text-fit-task.js';

export default runTextFitTask;
