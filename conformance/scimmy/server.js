// An independent SCIM 2.0 server for condeco-visitor-sync's conformance
// tests: SCIMMY (schemas, validation, filters, PATCH, paging, errors) and
// SCIMMY Routers (the HTTP endpoints), configured with the Visitor contract
// of docs/visitor-scim.md. Only the storage callbacks are ours, and they
// are kept to what a SCIMMY application must write itself: an in-memory
// array per resource type, uniqueness (SCIMMY declares it but leaves its
// enforcement to the application) and the contract's rule that location
// references name real locations. docs/compatibility.md says which side
// does what.
//
//   node server.js --port PORT --token TOKEN
//
// prints "listening on http://127.0.0.1:PORT/scim/v2" (PORT 0 picks a free
// port) and stops on SIGTERM or SIGINT. It listens on loopback only.

import {randomUUID} from "node:crypto";
import {parseArgs} from "node:util";
import express from "express";
import SCIMMY from "scimmy";
import SCIMMYRouters from "scimmy-routers";

const {Attribute, SchemaDefinition, Schema, Resource, Error: SCIMError} = SCIMMY.Types;

const USER_EXT = "urn:ietf:params:scim:schemas:extension:eptura:visitor:2.0:User";
const LOCATION_SCHEMA = "urn:ietf:params:scim:schemas:extension:eptura:visitor:2.0:Location";
const BASE = "/scim/v2";
// The project's names for Visitor's roles (docs/visitor-scim.md, simulator table).
const ROLES = ["admin", "user", "reception", "security", "assistant", "agent"];

const {values: args} = parseArgs({options: {
    port: {type: "string"},
    token: {type: "string", default: process.env.CVS_CONFORMANCE_TOKEN ?? ""},
    "max-results": {type: "string", default: "200"},
}});
if (args.port === undefined || !/^\d+$/.test(args.port) || !args.token) {
    console.error("usage: node server.js --port PORT --token TOKEN [--max-results N]");
    process.exit(2);
}

// The Visitor user extension: the user's default location, the locations
// it may use with a role on each, and the write-only invitation switch.
class VisitorUser extends Schema {
    static #definition = new SchemaDefinition("VisitorUser", USER_EXT, "Eptura Visitor user", [
        new Attribute("string", "defaultLocation", {caseExact: true, description: "Id of the user's default Visitor location."}),
        new Attribute("complex", "locations", {multiValued: true, description: "Locations the user may use, with a role on each."}, [
            new Attribute("string", "value", {required: true, caseExact: true, description: "Visitor location id."}),
            new Attribute("string", "role", {canonicalValues: ROLES, description: "Role on that location."}),
        ]),
        new Attribute("boolean", "sendInvitation", {mutable: "writeOnly", returned: "never", description: "Send the \"Join your team\" email; honoured on create only."}),
    ]);
    static get id() { return VisitorUser.#definition.id; }
    static get definition() { return VisitorUser.#definition; }
    constructor(resource, direction = "both", basepath, filters) {
        super(resource, direction);
        Object.assign(this, VisitorUser.#definition.coerce(resource, direction, basepath, filters));
    }
}

// The Location resource's own schema.
class LocationSchema extends Schema {
    static #definition = new SchemaDefinition("Location", LOCATION_SCHEMA, "Eptura Visitor location", [
        new Attribute("string", "name", {required: true, uniqueness: "server", description: "Location name, unique regardless of case."}),
        new Attribute("string", "companyId", {mutable: false, direction: "out", caseExact: true, description: "Server-assigned company id, one per location."}),
        new Attribute("boolean", "default", {mutable: false, direction: "out", description: "The integration's primary location."}),
    ]);
    static get id() { return LocationSchema.#definition.id; }
    static get definition() { return LocationSchema.#definition; }
    constructor(resource, direction = "both", basepath, filters) {
        super(resource, direction);
        Object.assign(this, LocationSchema.#definition.coerce(resource, direction, basepath, filters));
    }
}

// The stores, SCIMMY's "your database".
const users = [];
const locations = [];

// The integration's primary location exists before any client call, as
// in Visitor, where it is chosen when the integration is enabled.
const started = new Date().toISOString();
locations.push({
    schemas: [LOCATION_SCHEMA], id: randomUUID(), name: "Primary location", companyId: "CO-PRIMARY", default: true,
    meta: {created: started, lastModified: started},
});

const plain = (instance) => JSON.parse(JSON.stringify(instance));

// unique refuses a record that repeats, on another record, an attribute
// its schema declares unique, or the externalId (the contract makes it
// unique: it is how the client finds its objects). Comparison follows the
// attribute's caseExact (RFC 7643 §2.2).
function unique(definition, store, id, rec) {
    const attrs = definition.attributes.filter((a) => a instanceof Attribute && a.name !== "id"
        && (a.name === "externalId" || ["server", "global"].includes(a.config.uniqueness)));
    for (const a of attrs) {
        const v = rec[a.name];
        if (typeof v !== "string") continue;
        const same = a.config.caseExact ? (w) => w === v : (w) => typeof w === "string" && w.toLowerCase() === v.toLowerCase();
        if (store.some((r) => r.id !== id && same(r[a.name])))
            throw new SCIMError(409, "uniqueness", `${a.name} "${v}" is already used by another ${definition.name}`);
    }
}

// ingress stores a created or replaced record. SCIMMY hands it the request
// coerced by the schema; for PATCH, the stored resource with the
// operations applied.
function ingress(definition, store, check, created) {
    return (resource, instance) => {
        const now = new Date().toISOString();
        const rec = plain(instance);
        delete rec.meta;
        let old;
        if (resource.id) {
            old = store.find((r) => r.id === resource.id);
            if (!old) throw new SCIMError(404, null, `Resource ${resource.id} not found`);
        }
        rec.id = old?.id ?? randomUUID();
        check?.(rec, old, instance);
        unique(definition, store, rec.id, rec);
        rec.meta = {created: old?.meta.created ?? now, lastModified: now};
        if (old) store[store.indexOf(old)] = rec;
        else store.push(rec);
        if (!old) created?.(rec, instance);
        return rec;
    };
}

// egress answers reads with SCIMMY's own filter matching; SCIMMY's
// ListResponse pages the result (startIndex, count, totalResults).
function egress(store) {
    return (resource) => {
        const found = resource.filter ? resource.filter.match(store) : store.slice();
        if (resource.id && found.length === 0) throw new SCIMError(404, null, `Resource ${resource.id} not found`);
        return found;
    };
}

function degress(store) {
    return (resource) => {
        const i = store.findIndex((r) => r.id === resource.id);
        if (i < 0) throw new SCIMError(404, null, `Resource ${resource.id} not found`);
        store.splice(i, 1);
    };
}

// The contract's rule (docs/visitor-scim.md, "Rules the server enforces")
// that a user's locations are real Visitor locations.
function checkUser(rec) {
    const ext = rec[USER_EXT] ?? {};
    const refs = [ext.defaultLocation, ...(ext.locations ?? []).map((l) => l.value)].filter((v) => v !== undefined);
    for (const ref of refs) {
        if (!locations.some((l) => l.id === ref))
            throw new SCIMError(400, "invalidValue", `"${ref}" is no location`);
    }
}

// Write-only sendInvitation is honoured on a create that succeeded, and
// never stored; the line is how the tests see which emails went out.
function inviteUser(rec, instance) {
    if (instance[USER_EXT]?.sendInvitation === true) console.log(`invitation sent to ${rec.userName}`);
}

// companyId and default are the server's: assigned on create, kept after.
function checkLocation(rec, old) {
    rec.companyId = old?.companyId ?? `CO-${randomUUID().slice(0, 8).toUpperCase()}`;
    rec.default = old?.default ?? false;
}

// Location is a resource type of its own. SCIMMY's Types.Resource leaves
// read, write, patch and dispose to each resource type, so these are
// SCIMMY's User resource's (resources.js) with the Location schema: each
// wraps the handlers in SCIMMY's schema coercion, ListResponse and PatchOp.
class Location extends Resource {
    static get endpoint() { return "/Locations"; }
    static #basepath;
    static basepath(path) {
        if (path === undefined) return Location.#basepath;
        Location.#basepath = path.endsWith(Location.endpoint) ? path : `${path}${Location.endpoint}`;
        return Location;
    }
    static get schema() { return LocationSchema; }
    static #ingress = ingress(LocationSchema.definition, locations, checkLocation);
    static #egress = egress(locations);
    static #degress = degress(locations);

    async read(ctx) {
        const source = await Location.#egress(this, ctx);
        const target = this.id ? [source].flat().shift() : source;
        if (!this.id) return new SCIMMY.Messages.ListResponse(target.map((l) => new LocationSchema(l, "out", Location.basepath(), this.attributes)), this.constraints);
        return new LocationSchema(target, "out", Location.basepath(), this.attributes);
    }

    async write(instance, ctx) {
        if (instance === undefined || Object(instance) !== instance || Array.isArray(instance))
            throw new SCIMError(400, "invalidSyntax", "Expected a single complex value as the request body");
        try {
            const target = await Location.#ingress(this, new LocationSchema(instance, "in"), ctx);
            return new LocationSchema(target, "out", Location.basepath(), this.attributes);
        } catch (ex) {
            if (ex instanceof SCIMError) throw ex;
            if (ex instanceof TypeError) throw new SCIMError(400, "invalidValue", ex.message);
            throw new SCIMError(404, null, `Resource ${this.id} not found`);
        }
    }

    async patch(message, ctx) {
        if (!this.id) throw new SCIMError(404, null, "PATCH operation must target a specific resource");
        return await new SCIMMY.Messages.PatchOp(message)
            .apply(await this.read(ctx), async (instance) => await this.write(instance, ctx))
            .then((instance) => !instance ? undefined : new LocationSchema(instance, "out", Location.basepath(), this.attributes));
    }

    async dispose(ctx) {
        if (!this.id) throw new SCIMError(404, null, "DELETE operation must target a specific resource");
        await Location.#degress(this, ctx);
    }
}

SCIMMY.Resources.declare(SCIMMY.Resources.User
    .extend(VisitorUser, false)
    .ingress(ingress(SCIMMY.Schemas.User.definition, users, checkUser, inviteUser))
    .egress(egress(users))
    .degress(degress(users)));
SCIMMY.Resources.declare(Location);

const maxResults = Number(args["max-results"]);
const app = express();
app.use(BASE, new SCIMMYRouters({
    type: "bearer",
    handler: (req) => {
        if (req.header("Authorization") !== `Bearer ${args.token}`) throw new Error("invalid or missing bearer token");
        return "condeco-visitor-sync";
    },
}));
// After the routers: their constructor sets the provider config's own
// defaults, which this overrides with what the server really offers.
SCIMMY.Config.set({filter: {supported: true, maxResults}, bulk: {supported: false}, sort: false});

const server = app.listen(Number(args.port), "127.0.0.1", () => {
    console.log(`listening on http://127.0.0.1:${server.address().port}${BASE}`);
});
server.on("error", (err) => {
    console.error(err.message);
    process.exit(1);
});
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => server.close(() => process.exit(0)));
