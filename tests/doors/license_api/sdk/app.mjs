// An app written for Lemon Squeezy with its official SDK, moved to shopkeep. The SDK has no
// base-URL option (its requests go to https://api.lemonsqueezy.com), so the app routes them:
// that one wrapper around fetch is its whole change.
import { activateLicense, deactivateLicense, validateLicense } from "@lemonsqueezy/lemonsqueezy.js";

const [base, key] = process.argv.slice(2);
const send = globalThis.fetch;
globalThis.fetch = (url, init) => send(String(url).replace("https://api.lemonsqueezy.com", base), init);

const steps = [];
const note = (step, answer) => steps.push({
  step, statusCode: answer.statusCode, error: answer.error ? String(answer.error.cause ?? answer.error) : null,
  data: answer.data,
});

const activated = await activateLicense(key, "Node app");
note("activate", activated);
const instanceId = activated.data?.instance?.id;
note("validate", await validateLicense(key, instanceId));
note("validate the key alone", await validateLicense(key));
note("deactivate", await deactivateLicense(key, instanceId));
note("validate after deactivating", await validateLicense(key, instanceId));
note("an unknown key", await validateLicense("NOT-A-KEY-OF-OURS"));
console.log(JSON.stringify(steps));
