/**
 * Every operation of the Articles API through openapi-fetch, typed by the `paths` that
 * openapi-typescript makes from the service's /openapi.json (`make sdk` writes
 * build/sdk/openapi-typescript/schema.d.ts; nothing in it is edited). No casts. Each check prints
 * one line; the first mismatch throws and the exit code is 1.
 *
 *   make sdk && node_modules/.bin/tsc -p sdk/examples
 *   ARTICLES_API_URL=http://127.0.0.1:8080 ADMIN_PASSWORD=secret node build/sdk/js/sdk/examples/openapi_fetch.js
 *
 * What to know about this client and this API:
 * - `createClient<paths, `${string}/${string}json`>` types `data` after the JSON media types of a
 *   response (a Hello, not `Hello | string`) and `error` as the Problem; the client asks for JSON
 *   with `Accept`, because Node's fetch sends `Accept: *\/*`, which the server answers with the
 *   tutorial's text. A second client typed and asking for the v2 media type reads v2 articles.
 * - Operations whose answer is not JSON (GET /secrets, GET /metrics, a stored message) are read
 *   with `parseAs: "text"` or `"arrayBuffer"`: the default parses JSON and would throw.
 * - openapi-fetch sends every body as JSON unless it is FormData (openapi-fetch#2382), and
 *   openapi-typescript types a binary body and a multipart file part as `string`: text, binary and
 *   multipart messages pass the content for its type and a `bodySerializer` that sends it as it is.
 * - Security schemes are not applied by openapi-fetch: credentials go in an `Authorization` header.
 */
import assert from "node:assert/strict";
import { createHash, randomUUID } from "node:crypto";

import createClient from "openapi-fetch";

import type { components, paths } from "../../build/sdk/openapi-typescript/schema";

type FileUpload = components["schemas"]["FileUpload"];

const BASE_URL = process.env.ARTICLES_API_URL ?? "http://127.0.0.1:8080";
const PASSWORD = process.env.ADMIN_PASSWORD ?? "secret";
const V2 = "application/vnd.example.v2+json";
const SECRET = "Shhh this is top secret spy stuff!";
// Bytes that are not text (NUL, control characters) yet valid UTF-8: Prism's validating proxy, which
// the project's test puts between this script and the server, decodes every body as UTF-8 and turns
// other bytes into U+FFFD (stoplightio/prism#2349). The server itself stores any bytes.
const BYTES = Uint8Array.from([0x00, 0x01, 0x02, 0x7f, 0x0a, 0xc3, 0xa9, 0xe2, 0x82, 0xac]);

const api = createClient<paths, `${string}/${string}json`>({
  baseUrl: BASE_URL,
  headers: { Accept: "application/json" },
});
const apiV2 = createClient<paths, typeof V2>({ baseUrl: BASE_URL, headers: { Accept: V2 } });
const basic = {
  Authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`, "utf8").toString("base64")}`,
};
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

function ok(group: string, operation: string, detail: string): void {
  console.log(`ok ${group}: ${operation} ${detail}`);
}

/** An answer's `data`, once its status is the one expected. */
function success<T>(answer: { data?: T; error?: unknown; response: Response }, status = 200): T {
  const { response } = answer;
  assert.equal(response.status, status, `${response.url}: ${JSON.stringify(answer.error)}`);
  assert.ok(answer.data !== undefined, `${response.url}: no body`);
  return answer.data;
}

/** An answer without a body (204), once its status is the one expected. */
function done(answer: { error?: unknown; response: Response }, status = 204): void {
  const { response } = answer;
  assert.equal(response.status, status, `${response.url}: ${JSON.stringify(answer.error)}`);
}

/** A failed answer's `error` (a Problem), once its status is the one expected. */
function failure<E>(answer: { error?: E; response: Response }, status: number): E {
  assert.equal(answer.response.status, status, answer.response.url);
  assert.ok(answer.error !== undefined, `${answer.response.url}: no problem`);
  return answer.error;
}

function sha256(content: Uint8Array | string): string {
  return createHash("sha256").update(content).digest("hex");
}

/** Bytes in a string, one character each: what a `string` typed `format: binary` can carry. */
const binaryString = (bytes: Uint8Array) => Buffer.from(bytes).toString("latin1");
const bytesOf = (binary: string) => Buffer.from(binary, "latin1");

function multipart(upload: FileUpload, filename: string): FormData {
  const form = new FormData();
  form.append("file", new Blob([bytesOf(upload.file)]), filename);
  return form;
}

async function index(): Promise<void> {
  const links = success(await api.GET("/")).links;
  assert.equal(links["articles"]?.href, "/articles");
  ok("index", "GET /", `links to ${Object.keys(links).length} resources`);
}

async function hello(): Promise<void> {
  const greeting = success(await api.GET("/hello", { params: { query: { name: "Ada" } } }));
  assert.equal(greeting.hello, "Ada");
  assert.equal(typeof greeting.number, "number");
  ok("hello", "GET /hello", `?name=Ada -> hello=${greeting.hello}`);
}

async function echo(): Promise<void> {
  const withoutBody = { GET: await api.GET("/echo"), DELETE: await api.DELETE("/echo") };
  for (const [method, answer] of Object.entries(withoutBody)) {
    const echoed = success(answer);
    assert.equal(echoed.method, method);
    assert.equal(echoed.body, null);
    ok("echo", `${method} /echo`, `-> ${echoed.method} ${echoed.path}`);
  }
  const body = { greeting: "Hello" };
  const withBody = {
    POST: await api.POST("/echo", { body }),
    PUT: await api.PUT("/echo", { body }),
    PATCH: await api.PATCH("/echo", { body }),
  };
  for (const [method, answer] of Object.entries(withBody)) {
    const echoed = success(answer);
    assert.equal(echoed.method, method);
    assert.equal(echoed.headers["Content-Type"], "application/json");
    assert.deepEqual(JSON.parse(echoed.body ?? "null"), body);
    ok("echo", `${method} /echo`, `JSON body -> ${echoed.body}`);
  }
}

async function articles(): Promise<void> {
  const posted = await api.POST("/articles", {
    params: { header: { "Idempotency-Key": randomUUID() } },
    headers: basic,
    body: { title: "Hello", body: "First article." },
  });
  const article = success(posted, 201);
  const articleId = article.id;
  const etag = posted.response.headers.get("ETag");
  assert.equal(posted.response.headers.get("Location"), `/articles/${articleId}`);
  assert.ok(etag);
  assert.equal(article.title, "Hello");
  assert.equal(article.author, "admin");
  ok("articles", "POST /articles", `201 id=${articleId} Location and ETag ${etag}`);

  const path = { path: { articleId } };
  const read = success(await api.GET("/articles/{articleId}", { params: path }));
  assert.equal(read.title, "Hello");
  ok("articles", "GET /articles/{articleId}", `JSON title=${read.title}`);

  const asV2 = await apiV2.GET("/articles/{articleId}", { params: path });
  const v2 = success(asV2);
  assert.equal(asV2.response.headers.get("Content-Type"), V2);
  assert.equal(v2.links.self.href, `/articles/${articleId}`);
  assert.ok(!Number.isNaN(Date.parse(v2.created_at)));
  ok("articles", "GET /articles/{articleId}", `${V2} created_at=${v2.created_at}`);

  const second = await api.POST("/articles", {
    headers: basic,
    body: { title: "Second", body: "Another article." },
  });
  const page = success(await api.GET("/articles", { params: { query: { limit: 1 } } }));
  assert.equal(page.items.length, 1);
  assert.ok(page.links.next, "a next page: there are at least two articles");
  ok("articles", "GET /articles", `?limit=1 -> ${page.items.length} item and a next link`);

  const put = await api.PUT("/articles/{articleId}", {
    params: { ...path, header: { "If-Match": etag } },
    headers: basic,
    body: { title: "Hello again", body: "First article, revised." },
  });
  const newEtag = put.response.headers.get("ETag");
  assert.equal(success(put).title, "Hello again");
  assert.ok(newEtag);
  assert.notEqual(newEtag, etag);
  ok("articles", "PUT /articles/{articleId}", `If-Match ${etag} -> 200 ETag ${newEtag}`);

  const staleAnswer = await api.PUT("/articles/{articleId}", {
    params: { ...path, header: { "If-Match": etag } },
    headers: basic,
    body: { title: "Lost update", body: "Must not be stored." },
  });
  const stale = failure(staleAnswer, 412);
  assert.equal(stale.title, "Precondition Failed");
  ok("articles", "PUT /articles/{articleId}", `stale If-Match -> 412 ${stale.title}`);

  const patch = await api.PATCH("/articles/{articleId}", {
    params: { ...path, header: { "If-Match": newEtag } },
    headers: { ...basic, "Content-Type": "application/merge-patch+json" },
    body: { body: "Patched." },
  });
  const patched = success(patch);
  const patchedEtag = patch.response.headers.get("ETag");
  assert.equal(patched.title, "Hello again");
  assert.equal(patched.body, "Patched.");
  assert.ok(patchedEtag);
  ok("articles", "PATCH /articles/{articleId}", `merge patch -> body=${patched.body}`);

  done(
    await api.DELETE("/articles/{articleId}", {
      params: { ...path, header: { "If-Match": patchedEtag } },
      headers: basic,
    }),
  );
  const gone = failure(await api.GET("/articles/{articleId}", { params: path }), 404);
  assert.equal(gone.status, 404);
  ok("articles", "DELETE /articles/{articleId}", `If-Match -> 204, then GET -> 404`);
  const secondEtag = second.response.headers.get("ETag") ?? undefined;
  done(
    await api.DELETE("/articles/{articleId}", {
      params: { path: { articleId: success(second, 201).id }, header: { "If-Match": secondEtag } },
      headers: basic,
    }),
  );
}

async function messages(): Promise<void> {
  const stored: number[] = [];

  const data = { message: "Hello Data" };
  const posted = await api.POST("/messages", { body: data });
  const receipt = success(posted, 201);
  assert.equal(posted.response.headers.get("Location"), `/messages/${receipt.id}`);
  assert.equal(receipt.media_type, "application/json");
  assert.equal(receipt.sha256, sha256(JSON.stringify(data)));
  stored.push(receipt.id);
  ok("messages", "POST /messages", `JSON object -> 201 id=${receipt.id} ${receipt.size} bytes`);

  const text = "Hello";
  const asText = success(
    await api.POST("/messages", {
      body: text,
      bodySerializer: () => text,
      headers: { "Content-Type": "text/plain" },
    }),
    201,
  );
  assert.equal(asText.media_type, "text/plain");
  assert.equal(asText.sha256, sha256(text));
  stored.push(asText.id);
  ok("messages", "POST /messages", `text -> id=${asText.id} ${asText.size} bytes`);

  const content = binaryString(BYTES);
  const binary = success(
    await api.POST("/messages", {
      body: content,
      bodySerializer: () => bytesOf(content),
      headers: { "Content-Type": "application/octet-stream" },
    }),
    201,
  );
  assert.equal(binary.media_type, "application/octet-stream");
  assert.equal(binary.size, BYTES.length);
  assert.equal(binary.sha256, sha256(BYTES));
  stored.push(binary.id);
  ok("messages", "POST /messages", `${BYTES.length} bytes -> id=${binary.id} sha256 matches`);

  const upload: FileUpload = { file: binaryString(BYTES) };
  const uploaded = success(
    await api.POST("/messages", { body: upload, bodySerializer: () => multipart(upload, "hello.bin") }),
    201,
  );
  assert.equal(uploaded.filename, "hello.bin");
  assert.equal(uploaded.sha256, sha256(BYTES));
  stored.push(uploaded.id);
  ok("messages", "POST /messages", `multipart file part -> id=${uploaded.id} ${uploaded.filename}`);

  const listed = success(await api.GET("/messages", { params: { query: { limit: 100 } } })).items;
  assert.ok(stored.every((id) => listed.some((item) => item.id === id)));
  ok("messages", "GET /messages", `-> ${listed.length} messages, the ${stored.length} new ones among them`);

  // Stored content comes back as it went in: JSON parsed (openapi-fetch's default), text as text,
  // binary byte for byte.
  const readJson = await api.GET("/messages/{messageId}", { params: { path: { messageId: receipt.id } } });
  assert.equal(readJson.response.headers.get("Content-Type"), "application/json");
  assert.deepEqual(success(readJson), data);
  ok("messages", "GET /messages/{messageId}", `id=${receipt.id} JSON -> ${JSON.stringify(readJson.data)}`);
  const readText = success(
    await api.GET("/messages/{messageId}", {
      params: { path: { messageId: asText.id } },
      parseAs: "text",
    }),
  );
  assert.equal(readText, text);
  ok("messages", "GET /messages/{messageId}", `id=${asText.id} text -> ${readText}`);
  for (const messageId of [binary.id, uploaded.id]) {
    const read = await api.GET("/messages/{messageId}", {
      params: { path: { messageId } },
      parseAs: "arrayBuffer",
    });
    assert.deepEqual(new Uint8Array(success(read)), BYTES);
    const disposition = read.response.headers.get("Content-Disposition");
    ok("messages", "GET /messages/{messageId}", `id=${messageId} byte-exact, ${disposition}`);
  }

  for (const messageId of stored) {
    done(await api.DELETE("/messages/{messageId}", { params: { path: { messageId } } }));
  }
  const gone = await api.GET("/messages/{messageId}", {
    params: { path: { messageId: binary.id } },
    parseAs: "arrayBuffer",
  });
  assert.equal(failure(gone, 404).status, 404);
  ok("messages", "DELETE /messages/{messageId}", `${stored.length} deleted -> 204, then GET -> 404`);
}

async function users(): Promise<void> {
  const steve = success(await api.GET("/users/{userId}", { params: { path: { userId: 2 } } }));
  assert.deepEqual(steve, { "2": "steve" });
  ok("users", "GET /users/{userId}", `2 -> ${JSON.stringify(steve)}`);

  const page = success(await api.GET("/users", { params: { query: { limit: 100 } } }));
  const names = page.items.map((user) => user.username);
  assert.deepEqual(names.slice(0, 4), ["admin", "john", "steve", "bill"]);
  ok("users", "GET /users", `-> ${names.slice(0, 4).join(", ")}${names.length > 4 ? ", ..." : ""}`);

  const username = `ada-${randomUUID().slice(0, 8)}`;
  const ada = success(
    await api.POST("/users", {
      headers: basic,
      body: { username, password: `pw-${randomUUID()}` },
    }),
    201,
  );
  assert.equal(ada.username, username);
  assert.ok(!Number.isNaN(Date.parse(ada.created_at)));
  ok("users", "POST /users", `admin -> 201 id=${ada.id} ${ada.username}`);

  done(await api.DELETE("/users/{userId}", { params: { path: { userId: ada.id } }, headers: basic }));
  ok("users", "DELETE /users/{userId}", `admin -> 204`);
}

async function tokensAndSecrets(): Promise<void> {
  const withBasic = success(await api.GET("/secrets", { headers: basic, parseAs: "text" }));
  assert.equal(withBasic, SECRET);
  ok("secrets", "GET /secrets", `Basic -> ${withBasic}`);

  const token = success(
    await api.POST("/tokens", { headers: basic, body: { expires_in: 600 } }),
    201,
  );
  assert.equal(token.token_type, "Bearer");
  assert.equal(token.expires_in, 600);
  ok("tokens", "POST /tokens", `Basic -> 201 id=${token.id} ${token.token_type}`);

  const page = success(
    await api.GET("/tokens", { headers: basic, params: { query: { limit: 100 } } }),
  );
  assert.ok(page.items.some((item) => item.id === token.id));
  ok("tokens", "GET /tokens", `-> ${page.items.length} token(s), id=${token.id} among them`);

  const headers = bearer(token.access_token);
  const withBearer = success(await api.GET("/secrets", { headers, parseAs: "text" }));
  assert.equal(withBearer, SECRET);
  ok("secrets", "GET /secrets", `Bearer -> ${withBearer}`);

  done(
    await api.DELETE("/tokens/{tokenId}", { params: { path: { tokenId: token.id } }, headers }),
  );
  ok("tokens", "DELETE /tokens/{tokenId}", `-> 204`);

  const refused = failure(await api.GET("/secrets", { headers, parseAs: "text" }), 401);
  assert.equal(refused.title, "Unauthorized");
  ok("tokens", "GET /secrets", `revoked Bearer -> 401 ${refused.title}`);
}

async function health(): Promise<void> {
  assert.equal(success(await api.GET("/livez")).status, "ok");
  ok("health", "GET /livez", `-> ok`);
  // /healthz is /livez under its deprecated name (@deprecated in the generated paths).
  const old = await api.GET("/healthz");
  assert.equal(success(old).status, "ok");
  assert.equal(old.response.headers.get("Deprecation"), "@1796169600");
  assert.equal(old.response.headers.get("Sunset"), "Fri, 31 Dec 2027 00:00:00 GMT");
  ok("health", "GET /healthz", `-> ok, Deprecation: ${old.response.headers.get("Deprecation")}`);
  assert.equal(success(await api.GET("/readyz")).status, "ok");
  ok("health", "GET /readyz", `-> ok`);
  const metrics = success(await api.GET("/metrics", { parseAs: "text" }));
  assert.match(metrics, /http_requests_total/);
  ok("health", "GET /metrics", `-> ${metrics.split("\n").length} lines of text`);
}

async function main(): Promise<void> {
  await index();
  await hello();
  await echo();
  await articles();
  await messages();
  await users();
  await tokensAndSecrets();
  await health();
  console.log(`openapi-fetch: every check passed against ${BASE_URL}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
