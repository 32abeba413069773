package io.egressgateway.cni;

import io.egressgateway.cni.wire.CniWire;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A CNI error result (spec 1.0, "Error"): {@code {cniVersion, code, msg, details}}. Codes 1-99 are the
 * spec's own; 100+ are ours.
 */
public record CniError(int code, String msg, String details) {
  public static final int INCOMPATIBLE_VERSION = 1;
  public static final int INVALID_ENV = 4;
  public static final int IO_FAILURE = 5;
  public static final int DECODING_FAILURE = 6;
  public static final int INVALID_CONFIG = 7;
  public static final int TRY_AGAIN_LATER = 11;
  /** STATUS (spec 1.1): the plugin cannot service ADD requests now. */
  public static final int PLUGIN_NOT_AVAILABLE = 50;
  /** The node agent answered but could not set the pod's tunnel up. */
  public static final int AGENT_FAILURE = 100;

  public CniError {
    msg = msg == null ? "" : msg;
    details = details == null ? "" : details;
  }

  public String toJson(String cniVersion) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("cniVersion", cniVersion);
    m.put("code", new Json.Num(Integer.toString(code)));
    m.put("msg", msg);
    if (!details.isEmpty()) {
      m.put("details", details);
    }
    return Json.write(m);
  }

  /** The error the agent answered. */
  public static CniError of(CniWire.Answer a) {
    return new CniError(a.code(), a.msg(), a.details());
  }
}
