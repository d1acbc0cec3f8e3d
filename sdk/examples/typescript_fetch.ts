/**
 * Every operation of the Articles API through the client that openapi-generator's `typescript-fetch`
 * makes from the service's /openapi.json (`make sdk` writes it to build/sdk/typescript-fetch/; nothing
 * in it is edited). Each check prints one line; the first mismatch throws and the exit code is 1.
 *
 *   make sdk && node_modules/.bin/tsc -p sdk/examples
 *   ARTICLES_API_URL=http://127.0.0.1:8080 ADMIN_PASSWORD=secret node build/sdk/js/sdk/examples/typescript_fetch.js
 *
 * What to know about this client and this API:
 * - Node's fetch sends `Accept: *\/*`, which the server answers with the tutorial's text (what curl
 *   gets). The client parses JSON, so every Configuration asks for JSON; where an operation has only
 *   text (GET /secrets, GET /metrics) the server sends its text anyway and the client reads it as text.
 * - With `username`/`password` it sends HTTP Basic, with `accessToken` Bearer (Bearer wins when both
 *   are set): one Configuration per way of signing in.
 * - A non-2xx answer is thrown as a `ResponseError` carrying the `Response`; its body is a Problem.
 * - A request body is typed after its first media type only: POST /messages takes a JSON object.
 *   Binary and multipart messages go through `initOverrides` (the client's per-call hook), which
 *   replaces the body and its Content-Type; a text message cannot be sent as text (the runtime
 *   JSON-encodes a string body, because it looks at the generated Content-Type), so there is none.
 * - Response headers (Location, ETag) and other media types (the v2 article) come from the `...Raw`
 *   methods, whose `raw` is the fetch Response.
 */
import assert from "node:assert/strict";
import { createHash, randomUUID } from "node:crypto";

import {
  ArticlesApi,
  ArticleV2FromJSON,
  AuthApi,
  Configuration,
  type Echo,
  type FileUpload,
  HealthStatusEnum,
  IndexApi,
  type InitOverrideFunction,
  type Message,
  MessagesApi,
  OperationsApi,
  type Problem,
  ProblemFromJSON,
  ResponseError,
  TutorialApi,
  UsersApi,
} from "../../build/sdk/typescript-fetch";

const BASE_URL = process.env.ARTICLES_API_URL ?? "http://127.0.0.1:8080";
const PASSWORD = process.env.ADMIN_PASSWORD ?? "secret";
const JSON_ONLY = { Accept: "application/json" };
const V2 = "application/vnd.example.v2+json";
const SECRET = "Shhh this is top secret spy stuff!";
// Bytes that are not text (NUL, control characters) yet valid UTF-8: Prism's validating proxy, which
// the project's test puts between this script and the server, decodes every body as UTF-8 and turns
// other bytes into U+FFFD (stoplightio/prism#2349). The server itself stores any bytes.
const BYTES = Uint8Array.from([0x00, 0x01, 0x02, 0x7f, 0x0a, 0xc3, 0xa9, 0xe2, 0x82, 0xac]);

const anonymous = new Configuration({ basePath: BASE_URL, headers: JSON_ONLY });
const admin = new Configuration({
  basePath: BASE_URL,
  headers: JSON_ONLY,
  username: "admin",
  password: PASSWORD,
});
const bearer = (accessToken: string) =>
  new Configuration({ basePath: BASE_URL, headers: JSON_ONLY, accessToken });

function ok(group: string, operation: string, detail: string): void {
  console.log(`ok ${group}: ${operation} ${detail}`);
}

/** The status and Problem of a call that must fail. */
async function refused(call: Promise<unknown>): Promise<{ status: number; problem: Problem }> {
  try {
    await call;
  } catch (error) {
    if (error instanceof ResponseError) {
      return { status: error.response.status, problem: ProblemFromJSON(await error.response.json()) };
    }
    throw error;
  }
  throw new assert.AssertionError({ message: "the call succeeded; it must fail" });
}

function sha256(content: Uint8Array | string): string {
  return createHash("sha256").update(content).digest("hex");
}

/** A body of another media type than the generated JSON one, for one call. */
function sending(body: Blob | FormData, contentType?: string): InitOverrideFunction {
  return async ({ init }) => {
    const headers = { ...init.headers };
    delete headers["Content-Type"]; // for FormData, fetch writes multipart's with its boundary
    return { body, headers: contentType ? { ...headers, "Content-Type": contentType } : headers };
  };
}

async function index(): Promise<void> {
  const api = await new IndexApi(anonymous).getIndex();
  assert.equal(api.title, "Articles API");
  assert.equal(api.links["articles"]?.href, "/articles");
  ok("index", "GET /", `links to ${Object.keys(api.links).length} resources`);
}

async function hello(): Promise<void> {
  const greeting = await new TutorialApi(anonymous).getHello({ name: "Ada" });
  assert.equal(greeting.hello, "Ada");
  assert.equal(typeof greeting.number, "number");
  ok("hello", "GET /hello", `?name=Ada -> hello=${greeting.hello}`);
}

async function echo(): Promise<void> {
  const tutorial = new TutorialApi(anonymous);
  const body = { greeting: "Hello" };
  const withoutBody: Record<string, () => Promise<Echo>> = {
    GET: () => tutorial.getEcho(),
    DELETE: () => tutorial.deleteEcho(),
  };
  for (const [method, call] of Object.entries(withoutBody)) {
    const echoed = await call();
    assert.equal(echoed.method, method);
    assert.equal(echoed.body, null);
    ok("echo", `${method} /echo`, `-> ${echoed.method} ${echoed.path}`);
  }
  const withBody: Record<string, () => Promise<Echo>> = {
    POST: () => tutorial.postEcho({ requestBody: body }),
    PUT: () => tutorial.putEcho({ requestBody: body }),
    PATCH: () => tutorial.patchEcho({ requestBody: body }),
  };
  for (const [method, call] of Object.entries(withBody)) {
    const echoed = await call();
    assert.equal(echoed.method, method);
    assert.equal(echoed.headers["Content-Type"], "application/json");
    assert.deepEqual(JSON.parse(echoed.body ?? "null"), body);
    ok("echo", `${method} /echo`, `JSON body -> ${echoed.body}`);
  }
}

async function articles(): Promise<void> {
  const writer = new ArticlesApi(admin);
  const reader = new ArticlesApi(anonymous);

  const created = await writer.postArticleRaw({
    articleInput: { title: "Hello", body: "First article." },
    idempotencyKey: randomUUID(),
  });
  const article = await created.value();
  const etag = created.raw.headers.get("ETag");
  assert.equal(created.raw.status, 201);
  assert.equal(created.raw.headers.get("Location"), `/articles/${article.id}`);
  assert.ok(etag);
  assert.equal(article.title, "Hello");
  assert.equal(article.author, "admin");
  ok("articles", "POST /articles", `201 id=${article.id} Location and ETag ${etag}`);

  const read = await reader.getArticle({ articleId: article.id });
  assert.deepEqual(read, article);
  ok("articles", "GET /articles/{articleId}", `JSON title=${read.title}`);

  const asV2 = await reader.getArticleRaw({ articleId: article.id }, async ({ init }) => ({
    headers: { ...init.headers, Accept: V2 },
  }));
  assert.equal(asV2.raw.headers.get("Content-Type"), V2);
  // getArticle is typed after the first media type (Article); the v2 model parses the raw JSON.
  const v2 = ArticleV2FromJSON(await asV2.raw.json());
  assert.equal(v2.title, "Hello");
  assert.ok(v2.createdAt instanceof Date && !Number.isNaN(v2.createdAt.getTime()));
  assert.equal(v2.links.self.href, `/articles/${article.id}`);
  ok("articles", "GET /articles/{articleId}", `${V2} created_at=${v2.createdAt.toISOString()}`);

  const second = await writer.postArticleRaw({
    articleInput: { title: "Second", body: "Another article." },
  });
  const page = await reader.listArticles({ limit: 1 });
  assert.equal(page.items.length, 1);
  assert.ok(page.links.next, "a next page: there are at least two articles");
  ok("articles", "GET /articles", `?limit=1 -> ${page.items.length} item and a next link`);

  const updated = await writer.putArticleRaw({
    articleId: article.id,
    ifMatch: etag,
    articleInput: { title: "Hello again", body: "First article, revised." },
  });
  const newEtag = updated.raw.headers.get("ETag");
  assert.equal(updated.raw.status, 200);
  assert.equal((await updated.value()).title, "Hello again");
  assert.ok(newEtag);
  assert.notEqual(newEtag, etag);
  ok("articles", "PUT /articles/{articleId}", `If-Match ${etag} -> 200 ETag ${newEtag}`);

  const stale = await refused(
    writer.putArticle({
      articleId: article.id,
      ifMatch: etag,
      articleInput: { title: "Lost update", body: "Must not be stored." },
    }),
  );
  assert.equal(stale.status, 412);
  assert.equal(stale.problem.title, "Precondition Failed");
  ok("articles", "PUT /articles/{articleId}", `stale If-Match -> 412 ${stale.problem.title}`);

  const patched = await writer.patchArticleRaw({
    articleId: article.id,
    ifMatch: newEtag,
    articlePatch: { body: "Patched." },
  });
  const afterPatch = await patched.value();
  const patchedEtag = patched.raw.headers.get("ETag");
  assert.equal(afterPatch.title, "Hello again");
  assert.equal(afterPatch.body, "Patched.");
  assert.ok(patchedEtag);
  ok("articles", "PATCH /articles/{articleId}", `merge patch -> body=${afterPatch.body}`);

  const deleted = await writer.deleteArticleRaw({ articleId: article.id, ifMatch: patchedEtag });
  assert.equal(deleted.raw.status, 204);
  const gone = await refused(reader.getArticle({ articleId: article.id }));
  assert.equal(gone.status, 404);
  ok("articles", "DELETE /articles/{articleId}", `If-Match -> 204, then GET -> 404`);
  const secondEtag = second.raw.headers.get("ETag") ?? undefined;
  await writer.deleteArticle({ articleId: (await second.value()).id, ifMatch: secondEtag });
}

async function messages(): Promise<void> {
  const api = new MessagesApi(anonymous);
  const stored: Message[] = [];

  const data = { message: "Hello Data" };
  const asJson = await api.postMessageRaw({ requestBody: data });
  const receipt = await asJson.value();
  assert.equal(asJson.raw.status, 201);
  assert.equal(asJson.raw.headers.get("Location"), `/messages/${receipt.id}`);
  assert.equal(receipt.mediaType, "application/json");
  assert.equal(receipt.sha256, sha256(JSON.stringify(data)));
  stored.push(receipt);
  ok("messages", "POST /messages", `JSON object -> 201 id=${receipt.id} ${receipt.size} bytes`);

  // requestBody is required by the generated type; `sending` replaces it with the bytes.
  const binary = await api.postMessage(
    { requestBody: {} },
    sending(new Blob([BYTES]), "application/octet-stream"),
  );
  assert.equal(binary.mediaType, "application/octet-stream");
  assert.equal(binary.size, BYTES.length);
  assert.equal(binary.sha256, sha256(BYTES));
  stored.push(binary);
  ok("messages", "POST /messages", `${BYTES.length} bytes -> id=${binary.id} sha256 matches`);

  const upload: FileUpload = { file: new Blob([BYTES]) };
  const form = new FormData();
  form.append("file", upload.file, "hello.bin");
  const multipart = await api.postMessage({ requestBody: {} }, sending(form));
  assert.equal(multipart.filename, "hello.bin");
  assert.equal(multipart.sha256, sha256(BYTES));
  stored.push(multipart);
  ok("messages", "POST /messages", `multipart file part -> id=${multipart.id} ${multipart.filename}`);

  const page = await api.listMessages({ limit: 100 });
  const listed = page.items.map((item) => item.id);
  assert.ok(stored.every((item) => listed.includes(item.id)));
  ok("messages", "GET /messages", `-> ${listed.length} messages, the ${stored.length} new ones among them`);

  // A stored message comes back as it went in: the JSON message as its JSON, the binary ones
  // byte for byte (the generated getMessage returns a Blob, the first media type the spec lists).
  const readJson = await api.getMessage({ messageId: receipt.id });
  assert.equal(readJson.type, "application/json");
  const readText = await readJson.text();
  assert.deepEqual(JSON.parse(readText), data);
  ok("messages", "GET /messages/{messageId}", `id=${receipt.id} JSON -> ${readText}`);
  for (const message of [binary, multipart]) {
    const file = await api.getMessage({ messageId: message.id });
    assert.deepEqual(new Uint8Array(await file.arrayBuffer()), BYTES);
    assert.equal(file.type, "application/octet-stream");
    ok("messages", "GET /messages/{messageId}", `id=${message.id} byte-exact, name=${file.name}`);
  }

  for (const message of stored) {
    const deleted = await api.deleteMessageRaw({ messageId: message.id });
    assert.equal(deleted.raw.status, 204);
  }
  const gone = await refused(api.getMessage({ messageId: binary.id }));
  assert.equal(gone.status, 404);
  ok("messages", "DELETE /messages/{messageId}", `${stored.length} deleted -> 204, then GET -> 404`);
}

async function users(): Promise<void> {
  const reader = new UsersApi(anonymous);
  const adminApi = new UsersApi(admin);

  const steve = await reader.getUser({ userId: 2 });
  assert.deepEqual(steve, { "2": "steve" });
  ok("users", "GET /users/{userId}", `2 -> ${JSON.stringify(steve)}`);

  const page = await reader.listUsers({ limit: 100 });
  const names = page.items.map((user) => user.username);
  assert.deepEqual(names.slice(0, 4), ["admin", "john", "steve", "bill"]);
  ok("users", "GET /users", `-> ${names.slice(0, 4).join(", ")}${names.length > 4 ? ", ..." : ""}`);

  const username = `ada-${randomUUID().slice(0, 8)}`;
  const created = await adminApi.postUserRaw({
    userInput: { username, password: `pw-${randomUUID()}` },
  });
  const ada = await created.value();
  assert.equal(created.raw.status, 201);
  assert.equal(ada.username, username);
  assert.ok(ada.createdAt instanceof Date);
  ok("users", "POST /users", `admin -> 201 id=${ada.id} ${ada.username}`);

  const deleted = await adminApi.deleteUserRaw({ userId: ada.id });
  assert.equal(deleted.raw.status, 204);
  ok("users", "DELETE /users/{userId}", `admin -> 204`);
}

async function tokensAndSecrets(): Promise<void> {
  const auth = new AuthApi(admin);

  assert.equal(await auth.getSecret(), SECRET);
  ok("secrets", "GET /secrets", `Basic -> ${SECRET}`);

  const issued = await auth.postTokenRaw({ tokenRequest: { expiresIn: 600 } });
  const token = await issued.value();
  assert.equal(issued.raw.status, 201);
  assert.equal(token.tokenType, "Bearer");
  assert.equal(token.expiresIn, 600);
  ok("tokens", "POST /tokens", `Basic -> 201 id=${token.id} ${token.tokenType}`);

  const page = await auth.listTokens({ limit: 100 });
  assert.ok(page.items.some((item) => item.id === token.id));
  ok("tokens", "GET /tokens", `-> ${page.items.length} token(s), id=${token.id} among them`);

  const withToken = new AuthApi(bearer(token.accessToken));
  assert.equal(await withToken.getSecret(), SECRET);
  ok("secrets", "GET /secrets", `Bearer -> ${SECRET}`);

  const revoked = await auth.deleteTokenRaw({ tokenId: token.id });
  assert.equal(revoked.raw.status, 204);
  ok("tokens", "DELETE /tokens/{tokenId}", `-> 204`);

  const refusedNow = await refused(withToken.getSecret());
  assert.equal(refusedNow.status, 401);
  ok("tokens", "GET /secrets", `revoked Bearer -> 401 ${refusedNow.problem.title}`);
}

async function health(): Promise<void> {
  const operations = new OperationsApi(anonymous);
  assert.equal((await operations.getLivez()).status, HealthStatusEnum.Ok);
  ok("health", "GET /livez", `-> ok`);
  // /healthz is /livez under its deprecated name (getHealthz is @deprecated in the client).
  const old = await operations.getHealthzRaw();
  assert.equal((await old.value()).status, HealthStatusEnum.Ok);
  assert.equal(old.raw.headers.get("Deprecation"), "@1796169600");
  assert.equal(old.raw.headers.get("Sunset"), "Fri, 31 Dec 2027 00:00:00 GMT");
  ok("health", "GET /healthz", `-> ok, Deprecation: ${old.raw.headers.get("Deprecation")}`);
  assert.equal((await operations.getReadyz()).status, HealthStatusEnum.Ok);
  ok("health", "GET /readyz", `-> ok`);
  const metrics = await operations.getMetrics();
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
  console.log(`typescript-fetch: every check passed against ${BASE_URL}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
