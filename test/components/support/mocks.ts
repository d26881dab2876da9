/**
 * Pulumi mocks for component tests: records every registered resource with its inputs in
 * a comparable form (secrets as `{ $secret: value }`, assets as `{ $asset: text }`), the
 * options the SDK sent the engine with them (parent, dependencies, retainOnDelete, ...: read
 * off the register request, which the mocks' newResource does not see), the outputs
 * components register, and waits until registrations settle. Call installMocks() before
 * importing a module that creates resources at top level.
 */
import * as pulumi from "@pulumi/pulumi";

/** The SDK's marker for a secret value in serialized inputs. */
const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** What the register request carried besides the inputs: what the engine would act on. */
export interface RegisteredOptions {
  /** the parent's URN ("" for none) */
  parent: string;
  /** URNs of the resources this one waits for (dependsOn and the inputs' own resources) */
  dependencies: string[];
  /** undefined when not set */
  retainOnDelete: boolean | undefined;
  additionalSecretOutputs: string[];
  deleteBeforeReplace: boolean;
}

export interface Registered {
  type: string;
  name: string;
  /** the URN the mock monitor gave it (only the parent's type in the type chain) */
  urn: string;
  custom: boolean;
  /** inputs with secrets as `{ $secret }` and assets as `{ $asset }` */
  inputs: Record<string, unknown>;
  options: RegisteredOptions;
}

/** The outputs a resource registered (registerOutputs of a component), normalized as inputs are. */
export interface RegisteredOutputs {
  urn: string;
  outputs: Record<string, unknown>;
}

export interface MockRun {
  resources: Registered[];
  outputs: RegisteredOutputs[];
  /** resolves once no registration has arrived for a while */
  settle(): Promise<void>;
  /** custom (non-component) resources only */
  custom(): Registered[];
  byName(name: string): Registered;
  /** the outputs `r` registered (components: registerOutputs), {} when none */
  outputsOf(r: Registered): Record<string, unknown>;
}

async function normalize(value: unknown): Promise<unknown> {
  const v = await value;
  if (v instanceof pulumi.asset.StringAsset) {
    return { $asset: await (v as unknown as { text: Promise<string> }).text };
  }
  if (Array.isArray(v)) return Promise.all(v.map(normalize));
  if (v !== null && typeof v === "object") {
    const obj = v as Record<string, unknown>;
    if (obj[SECRET_SIG_KEY] === SECRET_SIG) return { $secret: await normalize(obj.value) };
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(obj).sort()) out[key] = await normalize(obj[key]);
    return out;
  }
  return v;
}

/** The parts of the SDK's register requests read here (resource_pb.RegisterResourceRequest). */
interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getDependenciesList(): string[];
  hasRetainondelete(): boolean;
  getRetainondelete(): boolean;
  getAdditionalsecretoutputsList(): string[];
  getDeletebeforereplace(): boolean;
}
type Callback = (err: unknown, response: { getUrn(): string } | undefined) => void;
interface MonitorLike {
  registerResource(req: RegisterRequest, callback: Callback): unknown;
  registerResourceOutputs(req: { getUrn(): string; getOutputs(): { toJavaScript(): unknown } | undefined }, callback: (err: unknown, r: unknown) => void): unknown;
}

/** Installs mocks (preview = false: apply callbacks run, as in `pulumi up`). */
export function installMocks(project = "project", stack = "stack"): MockRun {
  const resources: Registered[] = [];
  const outputs: RegisteredOutputs[] = [];
  const requests = new Map<string, RegisteredOptions>();
  const registeredByKey = new Map<string, Registered>();
  const keyOf = (type: string, name: string) => `${type}::${name}`;
  let pending = 0;
  void pulumi.runtime.setMocks({
    newResource: async (args) => {
      pending++;
      try {
        const inputs = (await normalize(args.inputs)) as Record<string, unknown>;
        const options = requests.get(keyOf(args.type, args.name));
        if (!options) throw new Error(`no register request seen for ${args.type} ${args.name}`);
        const registered: Registered = { type: args.type, name: args.name, urn: "", custom: args.custom === true, inputs, options };
        resources.push(registered);
        registeredByKey.set(keyOf(args.type, args.name), registered);
      } finally {
        pending--;
      }
      // assets are not echoed back: the mock monitor cannot unmarshal them
      const { source: _source, ...state } = args.inputs as Record<string, unknown>;
      return { id: `${args.name}-id`, state };
    },
    call: (args) => args.inputs as Record<string, unknown>,
  }, project, stack, false);
  // the mock monitor hands newResource the inputs only: read the options off the request
  const monitor = pulumi.runtime.getMonitor() as unknown as MonitorLike;
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, callback) => {
    const key = keyOf(req.getType(), req.getName());
    requests.set(key, {
      parent: req.getParent(),
      dependencies: [...req.getDependenciesList()].sort(),
      retainOnDelete: req.hasRetainondelete() ? req.getRetainondelete() : undefined,
      additionalSecretOutputs: [...req.getAdditionalsecretoutputsList()].sort(),
      deleteBeforeReplace: req.getDeletebeforereplace(),
    });
    return register(req, (err, response) => {
      // the URN is known once the monitor answers
      const registered = registeredByKey.get(key);
      if (response && registered) registered.urn = response.getUrn();
      callback(err, response);
    });
  };
  const registerOutputs = monitor.registerResourceOutputs.bind(monitor);
  monitor.registerResourceOutputs = (req, callback) => {
    pending++;
    void normalize(req.getOutputs()?.toJavaScript() ?? {})
      .then((o) => outputs.push({ urn: req.getUrn(), outputs: o as Record<string, unknown> }))
      .finally(() => pending--);
    return registerOutputs(req, callback);
  };
  return {
    resources,
    outputs,
    async settle() {
      let stable = 0;
      let last = -1;
      while (stable < 5) {
        await new Promise((r) => setTimeout(r, 20));
        if (resources.length === last && pending === 0) stable++;
        else stable = 0;
        last = resources.length;
      }
    },
    custom: () => resources.filter((r) => r.custom),
    byName(name: string) {
      const r = resources.find((x) => x.name === name);
      if (!r) throw new Error(`no resource named ${name}; have ${resources.map((x) => x.name).join(", ")}`);
      return r;
    },
    outputsOf: (r) => outputs.find((o) => o.urn === r.urn)?.outputs ?? {},
  };
}

/** The value of an Output (apply callbacks run: the mocks are not in preview mode). */
export function valueOf<T>(o: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => o.apply((v) => resolve(v)));
}

/** Every string in a normalized value that is NOT inside a `{ $secret }`, with its path. */
export function plainStrings(value: unknown, path = ""): { path: string; text: string }[] {
  if (typeof value === "string") return [{ path, text: value }];
  if (Array.isArray(value)) return value.flatMap((v, i) => plainStrings(v, `${path}[${i}]`));
  if (value !== null && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    if ("$secret" in obj) return [];
    return Object.entries(obj).flatMap(([k, v]) => plainStrings(v, path === "" ? k : `${path}.${k}`));
  }
  return [];
}

/** Every string inside a `{ $secret }`. */
export function secretStrings(value: unknown, inSecret = false): string[] {
  if (typeof value === "string") return inSecret ? [value] : [];
  if (Array.isArray(value)) return value.flatMap((v) => secretStrings(v, inSecret));
  if (value !== null && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    if ("$secret" in obj) return secretStrings(obj.$secret, true);
    return Object.values(obj).flatMap((v) => secretStrings(v, inSecret));
  }
  return [];
}
