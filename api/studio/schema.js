// The spec's JSON Schema, read from the API's public OpenAPI document, so the panel shows every
// element type and field the server accepts without studio code naming them. Answers resolved
// schemas ($ref followed, allOf merged) and classifies each property into the widget it needs.
"use strict";

const ROOT = "VideoCreateRequest";
const COLOR_HEX = "[0-9a-fA-F]{6}";

let book = null;

/** The schema book, fetched once from /openapi.json (public: no key needed). */
export function loadSchema() {
  if (!book) {
    book = fetch("/openapi.json")
      .then((response) => {
        if (!response.ok) throw new Error(`GET /openapi.json: HTTP ${response.status}`);
        return response.json();
      })
      .then((document) => new SchemaBook(document.components.schemas));
  }
  return book;
}

export class SchemaBook {
  constructor(schemas) {
    this.schemas = schemas;
  }

  /** `schema` with its $ref followed and its allOf members merged into one object schema. */
  resolve(schema) {
    let node = schema || {};
    const seen = new Set();
    while (node.$ref) {
      if (seen.has(node.$ref)) break;
      seen.add(node.$ref);
      const { $ref, ...rest } = node;
      node = { ...this.schemas[$ref.split("/").pop()], ...rest };
    }
    if (!node.allOf) return node;
    const { allOf, ...rest } = node;
    const merged = { ...rest, properties: { ...(rest.properties || {}) }, required: [...(rest.required || [])] };
    for (const part of allOf.map((member) => this.resolve(member))) {
      Object.assign(merged.properties, part.properties || {});
      merged.required.push(...(part.required || []));
      for (const [key, value] of Object.entries(part)) {
        if (!(key in merged)) merged[key] = value;
      }
    }
    return merged;
  }

  /** The whole spec's object schema. */
  get spec() {
    return this.resolve({ $ref: `#/components/schemas/${ROOT}` });
  }

  /** The element union's members, resolved: [{type, schema}] in the schema's order. */
  elementVariants(listSchema = this.spec.properties.elements) {
    const items = this.resolve(listSchema).items || {};
    return (items.oneOf || items.anyOf || []).map((member) => {
      const schema = this.resolve(member);
      return { type: constOf(this.resolve(schema.properties.type)), schema };
    });
  }

  /** The names of the element types, in the schema's order. */
  get elementTypes() {
    return this.elementVariants().map((variant) => variant.type);
  }

  /** The object schema of elements of `type`, or null for a type the schema does not know. */
  element(type, listSchema) {
    const found = this.elementVariants(listSchema).find((variant) => variant.type === type);
    return found ? found.schema : null;
  }

  /** What a property needs, as {kind, ...}: see the kinds below. `name` is the property's name. */
  describe(name, property) {
    const schema = this.resolve(property);
    const members = (schema.anyOf || schema.oneOf || [schema]).map((member) => this.resolve(member));
    const present = members.filter((member) => member.type !== "null");
    const nullable = present.length < members.length;
    const base = {
      name,
      description: schema.description || present.find((m) => m.description)?.description || "",
      default: schema.default,
      nullable,
      schema,
    };
    if (present.length === 1 && present[0].anyOf) {
      // A described union inside `X | None` (the Lengths of x, y, width, height).
      const inner = this.describe(name, present[0]);
      return { ...inner, ...base, description: base.description || inner.description, nullable };
    }
    const keyframes = present.find((member) => this.isKeyframes(member));
    const objects = present.filter((member) => member.type === "object" || member.properties);
    const arrays = present.filter((member) => member.type === "array" && !this.isKeyframes(member));
    const scalars = present.filter((member) => !objects.includes(member) && member.type !== "array");
    if (name === "elements" && arrays.length === 1 && this.elementVariants(arrays[0]).length) {
      return { ...base, kind: "children", list: arrays[0] };
    }
    if (isEasing(scalars)) {
      return { ...base, kind: "easing", names: scalars.find((member) => member.enum).enum };
    }
    if (objects.length === 1 && scalars.length === 0 && !keyframes && !arrays.length) {
      return { ...base, kind: "object", object: objects[0] };
    }
    if (arrays.length === 1 && scalars.length === 0 && !objects.length) {
      const items = this.resolve(arrays[0].items);
      const itemKind = items.type === "object" || items.properties ? "objects" : "values";
      return { ...base, kind: itemKind, array: arrays[0], items };
    }
    if (objects.length || arrays.length) {
      // A choice between shapes (thumbnail: true or {time, width}): one widget per shape.
      return { ...base, kind: "variants", variants: present };
    }
    return { ...base, ...scalarKind(name, scalars), keyframes: keyframes ? this.resolve(keyframes.items) : null };
  }

  isKeyframes(member) {
    if (member.type !== "array" || !member.items) return false;
    const items = this.resolve(member.items);
    return Boolean(items.properties && items.properties.time && items.properties.value);
  }

  /** A value for a new object of `schema`: its required properties filled sensibly, nothing else. */
  minimal(schema) {
    const resolved = this.resolve(schema);
    const value = {};
    for (const name of resolved.required || []) {
      value[name] = this.minimalValue(resolved.properties[name], name);
    }
    return value;
  }

  minimalValue(property, name) {
    const schema = this.resolve(property);
    if (schema.default !== undefined && schema.default !== null) return structuredClone(schema.default);
    if (schema.const !== undefined) return schema.const;
    if (schema.enum) return schema.enum[0];
    const members = schema.anyOf || schema.oneOf;
    if (members) return this.minimalValue(members.map((m) => this.resolve(m)).find((m) => m.type !== "null"), name);
    if (schema.type === "object" || schema.properties) return this.minimal(schema);
    if (schema.type === "array") {
      const count = schema.minItems || 0;
      return Array.from({ length: count }, (_, n) => this.minimalValue(schema.items, name) ?? n);
    }
    if (schema.type === "string") return isColor(schema) ? "#ffffff" : name === "text" ? "Text" : "";
    if (schema.type === "number" || schema.type === "integer") {
      if (schema.minimum !== undefined) return Math.max(schema.minimum, 0);
      if (schema.exclusiveMinimum !== undefined) return schema.exclusiveMinimum + 1;
      return 0;
    }
    if (schema.type === "boolean") return false;
    return null;
  }
}

/** A property with a value of one of a few scalar types: which input shows it. */
function scalarKind(name, scalars) {
  const types = new Set(scalars.map((member) => member.type));
  const enums = scalars.flatMap((member) => member.enum || (member.const !== undefined ? [member.const] : []));
  const free = scalars.filter((member) => member.enum === undefined && member.const === undefined);
  if (scalars.length && free.length === 0 && enums.length) return { kind: "enum", options: enums };
  if (types.size === 1 && types.has("boolean")) return { kind: "boolean" };
  if (free.length === 1 && free[0].type === "string" && isColor(free[0])) return { kind: "color", bounds: free[0] };
  const numeric = free.filter((member) => member.type === "number" || member.type === "integer");
  if (free.length === 1 && numeric.length === 1) {
    return { kind: "number", integer: numeric[0].type === "integer", bounds: numeric[0] };
  }
  if (free.length === 1 && free[0].type === "string") {
    const kind = name === "font_family" ? "font" : name === "source" ? "source" : "string";
    return { kind, bounds: free[0], long: name === "text" };
  }
  // Seconds or 'media', a factor or a percent: typed as text, numbers kept numbers.
  return { kind: "mixed", options: enums, bounds: numeric[0] || {} };
}

function isColor(schema) {
  return typeof schema.pattern === "string" && schema.pattern.startsWith("^#") && schema.pattern.includes(COLOR_HEX);
}

function isEasing(scalars) {
  return (
    scalars.some((member) => member.enum && member.enum.includes("linear")) &&
    scalars.some((member) => typeof member.pattern === "string" && member.pattern.includes("cubic-bezier"))
  );
}

function constOf(schema) {
  return schema.const !== undefined ? schema.const : schema.enum ? schema.enum[0] : undefined;
}
