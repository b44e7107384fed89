// The native half of the content layer: the three per-byte steps of the write
// path that cost the most JavaScript time (native/README.md):
//   - chunkerFeed: the FastCDC cut rule of src/content/chunker.ts, byte for
//     byte the same cuts (the JavaScript Chunker stays the reference; a test
//     compares both on random data and random feed splits);
//   - hmacInto: a blob id, HMAC-SHA256 under a key set once per handle;
//   - gcmSealInto / gcmOpenInto: AES-256-GCM with a key set once per handle,
//     written into the caller's buffer (format §2, as src/content/seal.ts);
//   - copyFrames: the bodies of a run of length-prefixed frames copied out in
//     one call (PostgreSQL's COPY OUT rows, src/sources/postgres/pg-copy-out.ts,
//     whose JavaScript parser stays the reference and handles every other case).
// Cryptography is OpenSSL's, the copy Node is built with (its symbols are
// exported to addons): no cryptographic code of our own. Each handle belongs
// to the thread that made it (worker threads make their own).

#include <node_api.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define GEAR_WINDOW 32
#define KEY_BYTES 32
#define NONCE_BYTES 12
#define TAG_BYTES 16

// ---- argument helpers -------------------------------------------------------

static napi_value fail(napi_env env, const char *code, const char *msg) {
  napi_throw_error(env, code, msg);
  return NULL;
}

#define CHECK(call)                                                   \
  do {                                                                \
    if ((call) != napi_ok) return fail(env, "INTERNAL", "N-API call failed: " #call); \
  } while (0)

/** The bytes of a typed array of type `want`, and its length in elements. */
static int typed_bytes(napi_env env, napi_value v, napi_typedarray_type want, uint8_t **data, size_t *len) {
  bool is;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return 0;
  napi_typedarray_type type;
  size_t length;
  void *p;
  if (napi_get_typedarray_info(env, v, &type, &length, &p, NULL, NULL) != napi_ok) return 0;
  if (type != want) return 0;
  *data = (uint8_t *)p;
  *len = length;
  return 1;
}

static int get_u32(napi_env env, napi_value v, uint32_t *out) {
  return napi_get_value_uint32(env, v, out) == napi_ok;
}

// ---- chunker ----------------------------------------------------------------

/**
 * chunkerFeed(gear: Int32Array(256), state: Int32Array(2) [h, pending],
 *             params: Int32Array(5) [min, avg, max, maskS, maskL],
 *             data: Uint8Array, cuts: Uint32Array) → number of cuts written.
 * The same state machine as Chunker.feed in chunker.ts (see the cut rule
 * there), including its quirks: the byte at length max is not hashed, and
 * the rolling hash is not reset between chunks (the warm-up shifts it out).
 */
static napi_value chunker_feed(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 5) return fail(env, "INTERNAL", "chunkerFeed: 5 arguments expected");
  uint8_t *gear_b, *state_b, *params_b, *data, *cuts_b;
  size_t gear_n, state_n, params_n, n, cuts_n;
  if (!typed_bytes(env, argv[0], napi_int32_array, &gear_b, &gear_n) || gear_n != 256 ||
      !typed_bytes(env, argv[1], napi_int32_array, &state_b, &state_n) || state_n != 2 ||
      !typed_bytes(env, argv[2], napi_int32_array, &params_b, &params_n) || params_n != 5 ||
      !typed_bytes(env, argv[3], napi_uint8_array, &data, &n) ||
      !typed_bytes(env, argv[4], napi_uint32_array, &cuts_b, &cuts_n)) {
    return fail(env, "INTERNAL", "chunkerFeed: bad arguments");
  }
  const uint32_t *gear = (const uint32_t *)gear_b;
  int32_t *state = (int32_t *)state_b;
  const int32_t *params = (const int32_t *)params_b;
  uint32_t *cuts = (uint32_t *)cuts_b;
  const int64_t min = params[0], avg = params[1], max = params[2];
  const uint32_t mask_s = (uint32_t)params[3], mask_l = (uint32_t)params[4];
  if (min < GEAR_WINDOW * 2 || !(min < avg && avg < max)) return fail(env, "INTERNAL", "chunkerFeed: bad parameters");
  // A cut needs at least min bytes after the previous one: this many fit.
  if (cuts_n < (size_t)(n / (size_t)min) + 1) return fail(env, "INTERNAL", "chunkerFeed: cuts array too small");

  uint32_t h = (uint32_t)state[0];
  const int64_t len = (int64_t)n;
  int64_t start = -(int64_t)state[1];
  int64_t i = 0;
  size_t count = 0;
  while (i < len) {
    int64_t end = start + min - GEAR_WINDOW;
    if (i < end) {
      if (end >= len) break;
      i = end;
    }
    end = start + min - 1;
    if (i < end) {
      if (end > len) end = len;
      for (; i < end; i++) h = (h << 1) + gear[data[i]];
      if (i == len) break;
    }
    int64_t cut = -1;
    end = start + avg;
    if (i < end) {
      if (end > len) end = len;
      for (; i < end; i++) {
        h = (h << 1) + gear[data[i]];
        if ((h & mask_s) == 0) {
          cut = i + 1;
          break;
        }
      }
    }
    if (cut < 0 && i < len) {
      end = start + max - 1;
      if (end > len) end = len;
      for (; i < end; i++) {
        h = (h << 1) + gear[data[i]];
        if ((h & mask_l) == 0) {
          cut = i + 1;
          break;
        }
      }
      if (cut < 0 && i < len) cut = i + 1;
    }
    if (cut < 0) break;
    cuts[count++] = (uint32_t)cut;
    start = i = cut;
  }
  state[0] = (int32_t)h;
  state[1] = (int32_t)(len - start);
  napi_value out;
  CHECK(napi_create_uint32(env, (uint32_t)count, &out));
  return out;
}

// ---- keyed handles ----------------------------------------------------------

typedef struct {
  HMAC_CTX *ctx;
} HmacHandle;

typedef struct {
  EVP_CIPHER_CTX *enc;
  EVP_CIPHER_CTX *dec;
} GcmHandle;

static void hmac_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  HmacHandle *h = data;
  HMAC_CTX_free(h->ctx); // clears its key material
  free(h);
}

static void gcm_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  GcmHandle *g = data;
  EVP_CIPHER_CTX_free(g->enc); // clears the key schedule
  EVP_CIPHER_CTX_free(g->dec);
  free(g);
}

/** The 32-byte key that is the only argument of hmacKey / gcmKey; NULL with an exception pending otherwise. */
static uint8_t *only_key_arg(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  uint8_t *key;
  size_t n;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      !typed_bytes(env, argv[0], napi_uint8_array, &key, &n) || n != KEY_BYTES) {
    fail(env, "INTERNAL", "a 32-byte key is expected");
    return NULL;
  }
  return key;
}

/** An N-API external that owns `data` (freed by `finalize` with the handle); NULL after freeing it otherwise. */
static napi_value wrap_handle(napi_env env, void *data, napi_finalize finalize, const char *what) {
  napi_value out;
  if (napi_create_external(env, data, finalize, NULL, &out) != napi_ok) {
    finalize(env, data, NULL);
    return fail(env, "INTERNAL", what);
  }
  return out;
}

/** hmacKey(key: Uint8Array(32)) → handle for hmacInto. */
static napi_value hmac_key(napi_env env, napi_callback_info info) {
  uint8_t *key = only_key_arg(env, info);
  if (!key) return NULL;
  HmacHandle *h = calloc(1, sizeof *h);
  if (!h) return fail(env, "INTERNAL", "out of memory");
  h->ctx = HMAC_CTX_new();
  if (!h->ctx || HMAC_Init_ex(h->ctx, key, KEY_BYTES, EVP_sha256(), NULL) != 1) {
    hmac_finalize(env, h, NULL);
    return fail(env, "INTERNAL", "HMAC-SHA256 setup failed");
  }
  return wrap_handle(env, h, hmac_finalize, "cannot make an HMAC handle");
}

/** hmacInto(handle, data: Uint8Array, out: Uint8Array, at: number): writes 32 bytes at out[at]. */
static napi_value hmac_into(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  HmacHandle *h;
  uint8_t *data, *out;
  size_t n, out_n;
  uint32_t at;
  if (argc < 4 || napi_get_value_external(env, argv[0], (void **)&h) != napi_ok ||
      !typed_bytes(env, argv[1], napi_uint8_array, &data, &n) ||
      !typed_bytes(env, argv[2], napi_uint8_array, &out, &out_n) || !get_u32(env, argv[3], &at)) {
    return fail(env, "INTERNAL", "hmacInto: bad arguments");
  }
  if ((size_t)at + 32 > out_n) return fail(env, "INTERNAL", "hmacInto: the id does not fit");
  unsigned int md_len = 0;
  // Init with no key keeps the key set by hmacKey (its padded blocks are kept).
  if (HMAC_Init_ex(h->ctx, NULL, 0, NULL, NULL) != 1 || HMAC_Update(h->ctx, data, n) != 1 ||
      HMAC_Final(h->ctx, out + at, &md_len) != 1 || md_len != 32) {
    return fail(env, "INTERNAL", "HMAC-SHA256 failed");
  }
  return NULL;
}

/** gcmKey(key: Uint8Array(32)) → handle for gcmSealInto / gcmOpenInto. */
static napi_value gcm_key(napi_env env, napi_callback_info info) {
  uint8_t *key = only_key_arg(env, info);
  if (!key) return NULL;
  GcmHandle *g = calloc(1, sizeof *g);
  if (!g) return fail(env, "INTERNAL", "out of memory");
  g->enc = EVP_CIPHER_CTX_new();
  g->dec = EVP_CIPHER_CTX_new();
  if (!g->enc || !g->dec || EVP_EncryptInit_ex(g->enc, EVP_aes_256_gcm(), NULL, key, NULL) != 1 ||
      EVP_DecryptInit_ex(g->dec, EVP_aes_256_gcm(), NULL, key, NULL) != 1) {
    gcm_finalize(env, g, NULL);
    return fail(env, "INTERNAL", "AES-256-GCM setup failed");
  }
  return wrap_handle(env, g, gcm_finalize, "cannot make an AES-GCM handle");
}

/**
 * gcmSealInto(handle, nonce: Uint8Array(12), aad: Uint8Array, head: Uint8Array,
 *             body: Uint8Array, out: Uint8Array, at: number) → bytes written:
 * nonce ‖ AES-256-GCM(head ‖ body) ‖ tag at out[at]. head is the codec byte
 * (or empty); the two are encrypted as one message.
 */
static napi_value gcm_seal_into(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  GcmHandle *g;
  uint8_t *nonce, *aad, *head, *body, *out;
  size_t nonce_n, aad_n, head_n, body_n, out_n;
  uint32_t at;
  if (argc < 7 || napi_get_value_external(env, argv[0], (void **)&g) != napi_ok ||
      !typed_bytes(env, argv[1], napi_uint8_array, &nonce, &nonce_n) || nonce_n != NONCE_BYTES ||
      !typed_bytes(env, argv[2], napi_uint8_array, &aad, &aad_n) ||
      !typed_bytes(env, argv[3], napi_uint8_array, &head, &head_n) ||
      !typed_bytes(env, argv[4], napi_uint8_array, &body, &body_n) ||
      !typed_bytes(env, argv[5], napi_uint8_array, &out, &out_n) || !get_u32(env, argv[6], &at)) {
    return fail(env, "INTERNAL", "gcmSealInto: bad arguments");
  }
  const size_t need = NONCE_BYTES + head_n + body_n + TAG_BYTES;
  if ((size_t)at > out_n || need > out_n - at || head_n + body_n > INT32_MAX) {
    return fail(env, "INTERNAL", "gcmSealInto: the sealed item does not fit its buffer");
  }
  uint8_t *p = out + at;
  memmove(p, nonce, NONCE_BYTES); // the nonce may be a view into `out` itself
  int len = 0;
  uint8_t *c = p + NONCE_BYTES;
  // Init with only an IV keeps the key schedule set by gcmKey.
  if (EVP_EncryptInit_ex(g->enc, NULL, NULL, NULL, p) != 1 ||
      (aad_n > 0 && EVP_EncryptUpdate(g->enc, NULL, &len, aad, (int)aad_n) != 1) ||
      (head_n > 0 && EVP_EncryptUpdate(g->enc, c, &len, head, (int)head_n) != 1)) {
    return fail(env, "INTERNAL", "AES-256-GCM encryption failed");
  }
  c += head_n;
  if ((body_n > 0 && EVP_EncryptUpdate(g->enc, c, &len, body, (int)body_n) != 1)) return fail(env, "INTERNAL", "AES-256-GCM encryption failed");
  c += body_n;
  if (EVP_EncryptFinal_ex(g->enc, c, &len) != 1 || len != 0 ||
      EVP_CIPHER_CTX_ctrl(g->enc, EVP_CTRL_GCM_GET_TAG, TAG_BYTES, c) != 1) {
    return fail(env, "INTERNAL", "AES-256-GCM encryption failed");
  }
  napi_value result;
  CHECK(napi_create_uint32(env, (uint32_t)need, &result));
  return result;
}

/**
 * gcmOpenInto(handle, aad: Uint8Array, sealed: Uint8Array, out: Uint8Array,
 *             at: number) → plaintext length written at out[at], or -1 when
 * the item does not authenticate (nothing of it is then to be used).
 */
static napi_value gcm_open_into(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  GcmHandle *g;
  uint8_t *aad, *sealed, *out;
  size_t aad_n, sealed_n, out_n;
  uint32_t at;
  if (argc < 5 || napi_get_value_external(env, argv[0], (void **)&g) != napi_ok ||
      !typed_bytes(env, argv[1], napi_uint8_array, &aad, &aad_n) ||
      !typed_bytes(env, argv[2], napi_uint8_array, &sealed, &sealed_n) ||
      !typed_bytes(env, argv[3], napi_uint8_array, &out, &out_n) || !get_u32(env, argv[4], &at)) {
    return fail(env, "INTERNAL", "gcmOpenInto: bad arguments");
  }
  napi_value result;
  if (sealed_n < NONCE_BYTES + TAG_BYTES) {
    CHECK(napi_create_int32(env, -1, &result));
    return result;
  }
  const size_t body_n = sealed_n - NONCE_BYTES - TAG_BYTES;
  if ((size_t)at > out_n || body_n > out_n - at || body_n > INT32_MAX) return fail(env, "INTERNAL", "gcmOpenInto: the plaintext does not fit its buffer");
  uint8_t tag[TAG_BYTES];
  memcpy(tag, sealed + sealed_n - TAG_BYTES, TAG_BYTES);
  int len = 0;
  int ok = EVP_DecryptInit_ex(g->dec, NULL, NULL, NULL, sealed) == 1 &&
           (aad_n == 0 || EVP_DecryptUpdate(g->dec, NULL, &len, aad, (int)aad_n) == 1) &&
           (body_n == 0 || EVP_DecryptUpdate(g->dec, out + at, &len, sealed + NONCE_BYTES, (int)body_n) == 1) &&
           EVP_CIPHER_CTX_ctrl(g->dec, EVP_CTRL_GCM_SET_TAG, TAG_BYTES, tag) == 1;
  uint8_t final_block[16];
  ok = ok && EVP_DecryptFinal_ex(g->dec, final_block, &len) == 1;
  if (!ok) {
    OPENSSL_cleanse(out + at, body_n); // never leave unauthenticated plaintext behind
    CHECK(napi_create_int32(env, -1, &result));
    return result;
  }
  CHECK(napi_create_int32(env, (int32_t)body_n, &result));
  return result;
}

// ---- frames -----------------------------------------------------------------

/**
 * copyFrames(src: Uint8Array, at: number, type: number, out: Uint8Array,
 *            fill: Int32Array(1)) → number
 * Frames as in the PostgreSQL protocol: [type u8][length u32 BE, counting its
 * own 4 bytes][length − 4 bytes of body]. From src[at], copies the bodies of
 * whole frames of `type` into out at fill[0], one after another, and stops
 * before the first frame that is of another type, is not whole in src, has a
 * length below 4, or whose body would not leave out with room to spare (the
 * caller changes buffers). Returns the offset in src where it stopped; fill[0]
 * is updated. Nothing of the frame it stops at is copied.
 */
static napi_value copy_frames(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 5) return fail(env, "INTERNAL", "copyFrames: 5 arguments expected");
  uint8_t *src, *out, *fill_b;
  size_t src_n, out_n, fill_n;
  uint32_t at, type;
  if (!typed_bytes(env, argv[0], napi_uint8_array, &src, &src_n) || !get_u32(env, argv[1], &at) || !get_u32(env, argv[2], &type) ||
      !typed_bytes(env, argv[3], napi_uint8_array, &out, &out_n) ||
      !typed_bytes(env, argv[4], napi_int32_array, &fill_b, &fill_n) || fill_n != 1) {
    return fail(env, "INTERNAL", "copyFrames: bad arguments");
  }
  int32_t *fill_p = (int32_t *)fill_b;
  if (fill_p[0] < 0 || (size_t)fill_p[0] > out_n || at > src_n) return fail(env, "INTERNAL", "copyFrames: offset out of range");
  size_t pos = at, fill = (size_t)fill_p[0];
  while (src_n - pos >= 5 && src[pos] == type) {
    const uint32_t length = ((uint32_t)src[pos + 1] << 24) | ((uint32_t)src[pos + 2] << 16) | ((uint32_t)src[pos + 3] << 8) | src[pos + 4];
    if (length < 4) break;
    const size_t body = length - 4;
    if (body > src_n - pos - 5 || body >= out_n - fill) break;
    memcpy(out + fill, src + pos + 5, body);
    fill += body;
    pos += 5 + body;
  }
  fill_p[0] = (int32_t)fill;
  napi_value result;
  CHECK(napi_create_uint32(env, (uint32_t)pos, &result));
  return result;
}

// ---- module -----------------------------------------------------------------

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_property_descriptor props[] = {
      {"chunkerFeed", NULL, chunker_feed, NULL, NULL, NULL, napi_enumerable, NULL},
      {"hmacKey", NULL, hmac_key, NULL, NULL, NULL, napi_enumerable, NULL},
      {"hmacInto", NULL, hmac_into, NULL, NULL, NULL, napi_enumerable, NULL},
      {"gcmKey", NULL, gcm_key, NULL, NULL, NULL, napi_enumerable, NULL},
      {"gcmSealInto", NULL, gcm_seal_into, NULL, NULL, NULL, napi_enumerable, NULL},
      {"gcmOpenInto", NULL, gcm_open_into, NULL, NULL, NULL, napi_enumerable, NULL},
      {"copyFrames", NULL, copy_frames, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}
