/**
 * Pulumi mocks for component tests: records every registered resource with its inputs in
 * a comparable form (secrets as `{ $secret: value }`, assets as `{ $asset: text }`), and
 * waits until registrations settle. Call installMocks() before importing a module that
 * creates resources at top level.
 */
import * as pulumi from "@pulumi/pulumi";

/** The SDK's marker for a secret value in serialized inputs. */
const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

export interface Registered {
  type: string;
  name: string;
  custom: boolean;
  /** inputs with secrets as `{ $secret }` and assets as `{ $asset }` */
  inputs: Record<string, unknown>;
}

export interface MockRun {
  resources: Registered[];
  /** resolves once no registration has arrived for a while */
  settle(): Promise<void>;
  /** custom (non-component) resources only */
  custom(): Registered[];
  byName(name: string): Registered;
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

/** Installs mocks (preview = false: apply callbacks run, as in `pulumi up`). */
export function installMocks(project = "project", stack = "stack"): MockRun {
  const resources: Registered[] = [];
  let pending = 0;
  void pulumi.runtime.setMocks({
    newResource: async (args) => {
      pending++;
      try {
        const inputs = (await normalize(args.inputs)) as Record<string, unknown>;
        resources.push({ type: args.type, name: args.name, custom: args.custom === true, inputs });
      } finally {
        pending--;
      }
      // assets are not echoed back: the mock monitor cannot unmarshal them
      const { source: _source, ...state } = args.inputs as Record<string, unknown>;
      return { id: `${args.name}-id`, state };
    },
    call: (args) => args.inputs as Record<string, unknown>,
  }, project, stack, false);
  return {
    resources,
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
