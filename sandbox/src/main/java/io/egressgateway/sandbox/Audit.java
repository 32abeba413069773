package io.egressgateway.sandbox;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintStream;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The egress audit (docs/audit.md) asked through a controller's management port, after pods came and went: the demo
 * pod is named behind its egress address now; the pod made after the controllers were replaced (deleted since) is
 * named behind its address at a time it ran, not now, and its use ended; the plain pod is never named. The report's
 * {@code audit: {queries, ok}} lists each question with what was expected and seen.
 */
final class Audit {
  private static final ObjectMapper JSON = new ObjectMapper();

  private Audit() {}

  static ObjectNode check(Release release, JsonNode report, Instant since, PrintStream out) {
    ObjectNode r = JSON.createObjectNode();
    var queries = r.putArray("queries");
    Optional<Release.Member> controller = release.members().stream()
        .filter(m -> m.role().equals("controller") && m.ip() != null && Workloads.ready(m.pod())).findFirst();
    if (controller.isEmpty()) {
      r.put("ok", false).put("detail", "no ready controller to ask");
      out.println("audit: FAILED (no ready controller)");
      return r;
    }
    Release.Member c = controller.get();
    boolean all = true;

    // the demo pod, running now, behind its own egress address
    String demoIp = egressIpOf(report.path("pods"), "demo/annotated");
    JsonNode now = Sh.poll(() -> get(release, c, "egress/audit/address?ip=" + demoIp),
        a -> names(a).contains("demo/annotated"), Duration.ofSeconds(30), 1000);
    boolean demoOk = !demoIp.isEmpty() && names(now).contains("demo/annotated") && !names(now).contains("demo/plain");
    queries.addObject().put("question", "who could use " + demoIp + " now").put("expected", "demo/annotated, not demo/plain")
        .put("seen", String.join(",", names(now))).put("ok", demoOk);
    all &= demoOk;

    // the pod made after the controllers were replaced and deleted since: its use ended, and it is named only then
    JsonNode replaced = report.path("controllersReplaced");
    String pod = replaced.path("sgc").asText(""); // namespace/name of the SGC, and of its pod
    String ip = replaced.path("egressIp").asText("");
    String prefix = replaced.path("prefix").asText("");
    int slash = pod.indexOf('/');
    JsonNode uses = slash < 0 ? JSON.createObjectNode() : Sh.poll(() -> get(release, c, "egress/audit/pod?namespace="
            + pod.substring(0, slash) + "&name=" + pod.substring(slash + 1) + "&from=" + since),
        a -> ended(a), Duration.ofSeconds(60), 1000);
    boolean prefixOk = !prefix.isEmpty() && uses.path("uses").size() > 0 && ended(uses)
        && allMatch(uses.path("uses"), u -> prefix.equals(u.path("egressPrefix").asText()));
    queries.addObject().put("question", "which egress did " + pod + " use since " + since)
        .put("expected", prefix + ", ended").put("seen", summary(uses.path("uses"))).put("ok", prefixOk);
    all &= prefixOk;
    String ran = uses.path("uses").path(0).path("from").asText("");
    JsonNode then = ran.isEmpty() ? JSON.createObjectNode() : get(release, c, "egress/audit/address?ip=" + ip + "&at=" + ran);
    JsonNode after = get(release, c, "egress/audit/address?ip=" + ip);
    boolean cameAndWent = !ip.isEmpty() && names(then).contains(pod) && !names(after).contains(pod);
    queries.addObject().put("question", "who could use " + ip + " at " + ran + ", and now")
        .put("expected", pod + " then, not now").put("seen", String.join(",", names(then)) + " / " + String.join(",", names(after)))
        .put("ok", cameAndWent);
    all &= cameAndWent;

    r.put("ok", all);
    out.println("audit: " + (all ? "ok" : "FAILED") + " (" + queries.size() + " questions to " + c.name() + ")");
    return r;
  }

  private static JsonNode get(Release release, Release.Member m, String path) {
    String body = release.management(m, path);
    try {
      return body.isBlank() ? JSON.createObjectNode() : JSON.readTree(body);
    } catch (java.io.IOException e) {
      return JSON.createObjectNode().put("error", "unreadable answer: " + body);
    }
  }

  private static Set<String> names(JsonNode answer) {
    Set<String> out = new HashSet<>();
    answer.path("pods").forEach(p -> out.add(p.path("namespace").asText() + "/" + p.path("name").asText()));
    return out;
  }

  private static boolean ended(JsonNode answer) {
    return answer.path("uses").size() > 0 && allMatch(answer.path("uses"), u -> !u.path("podUseEnded").isNull()
        && !u.path("podUseEnded").isMissingNode());
  }

  private static boolean allMatch(JsonNode array, java.util.function.Predicate<JsonNode> p) {
    for (JsonNode n : array) {
      if (!p.test(n)) {
        return false;
      }
    }
    return true;
  }

  private static String summary(JsonNode uses) {
    List<String> out = new ArrayList<>();
    uses.forEach(u -> out.add(u.path("egressPrefix").asText() + " via " + u.path("gatewayNode").asText() + " "
        + u.path("from").asText() + ".." + u.path("to").asText() + (u.path("podUseEnded").isNull() ? " (running)" : " (ended)")));
    return String.join("; ", out);
  }

  private static String egressIpOf(JsonNode pods, String name) {
    for (JsonNode p : pods) {
      if (p.path("name").asText().equals(name)) {
        return p.path("egressIp").asText("");
      }
    }
    return "";
  }
}
