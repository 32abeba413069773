package io.egressgateway.pod.model;

/**
 * The agent's answer to one CNI call: a result (JSON text, possibly empty) or a CNI error.
 */
public sealed interface CniReply {
  int TRY_AGAIN_LATER = 11;
  /** STATUS (CNI 1.1): the agent cannot service ADD requests now. */
  int NOT_AVAILABLE = 50;
  int INVALID_CONFIG = 7;
  int DECODING_FAILURE = 6;
  int INVALID_ENV = 4;
  /** The pod's tunnel could not be set up (config missing or not ready, no gateway confirmed, datapath error). */
  int TUNNEL_FAILURE = 100;

  record Result(String json) implements CniReply {}

  record Error(int code, String msg, String details) implements CniReply {}

  static CniReply ok(String json) {
    return new Result(json == null ? "" : json);
  }

  static CniReply error(int code, String msg, String details) {
    return new Error(code, msg, details == null ? "" : details);
  }
}
