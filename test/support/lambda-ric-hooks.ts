import { registerHooks } from 'node:module';

/**
 * Preloaded (`--import`) into the aws-lambda-ric process: its `require('./rapid-client.node')`
 * gets the JavaScript stand-in instead of the native addon it was not allowed to build.
 */
const standIn = new URL('./lambda-rapid-client.ts', import.meta.url).href;

registerHooks({
  resolve(specifier, context, nextResolve) {
    if (specifier === './rapid-client.node' && context.parentURL?.includes('/aws-lambda-ric/')) {
      return { url: standIn, shortCircuit: true };
    }
    return nextResolve(specifier, context);
  },
});
