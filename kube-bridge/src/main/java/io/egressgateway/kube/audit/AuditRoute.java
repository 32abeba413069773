package io.egressgateway.kube.audit;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Adapter;
import akka.http.javadsl.model.ContentTypes;
import akka.http.javadsl.model.HttpEntities;
import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.model.StatusCode;
import akka.http.javadsl.model.StatusCodes;
import akka.http.javadsl.server.AllDirectives;
import akka.http.javadsl.server.PathMatchers;
import akka.http.javadsl.server.Route;
import akka.management.javadsl.ManagementRouteProvider;
import akka.management.javadsl.ManagementRouteProviderSettings;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.egressgateway.kube.model.EgressHistory;
import io.egressgateway.kube.model.EgressHistory.Egress;
import io.egressgateway.kube.model.EgressHistory.PodUse;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * The egress audit's queries on the Akka Management port (read-only; docs/audit.md has {@code curl} examples):
 * <ul>
 *   <li>{@code GET /egress/audit/address?ip=X[&at=T]}: the configurations whose egress could carry source address X at
 *       time T (default: now), and the pods that used them then;</li>
 *   <li>{@code GET /egress/audit/pod?namespace=N&name=P[&from=T1][&to=T2]}: the egress prefixes and gateway nodes pod
 *       P could have used between T1 (default: T2 minus one hour) and T2 (default: now).</li>
 * </ul>
 * Times are ISO-8601 instants ({@code 2026-12-05T10:15:30Z}). Answered by controllers; other members say 503.
 */
public final class AuditRoute extends AllDirectives implements ManagementRouteProvider {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final ActorSystem<?> system;
  private final Clock clock = Clock.systemUTC();

  public AuditRoute(akka.actor.ExtendedActorSystem system) {
    this.system = Adapter.toTyped(system);
  }

  @Override
  public Route routes(ManagementRouteProviderSettings settings) {
    return pathPrefix(PathMatchers.segment("egress").slash("audit"), () -> get(() -> concat(
        path("address", () -> parameterMap(q -> answer(() -> address(q)))),
        path("pod", () -> parameterMap(q -> answer(() -> pod(q)))))));
  }

  /** An answer or an error with its status; queries run off the HTTP dispatcher (they use JDBC). */
  private interface Query {
    Reply run() throws SQLException;
  }

  record Reply(StatusCode status, Object body) {
    static Reply bad(String message) {
      return new Reply(StatusCodes.BAD_REQUEST, Map.of("error", message));
    }
  }

  private Route answer(Query query) {
    Optional<EgressAudit> audit = Audits.get(system).current();
    if (audit.isEmpty()) {
      return reply(new Reply(StatusCodes.SERVICE_UNAVAILABLE,
          Map.of("error", "the egress audit is kept by controller members with egress.kube-bridge.audit.enabled")));
    }
    CompletableFuture<Reply> f = CompletableFuture.supplyAsync(() -> {
      try {
        return query.run();
      } catch (SQLException e) {
        return new Reply(StatusCodes.SERVICE_UNAVAILABLE, Map.of("error", "audit database: " + e.getMessage()));
      } catch (IllegalArgumentException e) {
        return Reply.bad(e.getMessage());
      }
    }, system.dispatchers().lookup(akka.actor.typed.DispatcherSelector.blocking()));
    return onSuccess(f, this::reply);
  }

  private Route reply(Reply r) {
    String body;
    try {
      body = JSON.writerWithDefaultPrettyPrinter().writeValueAsString(r.body()) + "\n";
    } catch (JsonProcessingException e) {
      return complete(StatusCodes.INTERNAL_SERVER_ERROR, e.getMessage());
    }
    return complete(HttpResponse.create().withStatus(r.status()).withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, body)));
  }

  Reply address(Map<String, String> q) throws SQLException {
    String ip = q.getOrDefault("ip", "");
    if (EgressHistory.ipv4(ip) < 0) {
      return Reply.bad("ip must be an IPv4 address, got '" + ip + "'");
    }
    Instant at = time(q, "at", clock.instant());
    EgressAudit.AddressAnswer a = Audits.get(system).current().orElseThrow().whoCouldUse(ip, at);
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("address", ip);
    out.put("at", at.toString());
    out.put("egresses", a.egresses().stream().map(AuditRoute::egress).toList());
    out.put("pods", a.pods().stream().map(AuditRoute::pod).toList());
    return new Reply(StatusCodes.OK, out);
  }

  Reply pod(Map<String, String> q) throws SQLException {
    String ns = q.getOrDefault("namespace", "");
    String name = q.getOrDefault("name", "");
    if (ns.isBlank() || name.isBlank()) {
      return Reply.bad("namespace and name are required");
    }
    Instant to = time(q, "to", clock.instant());
    Instant from = time(q, "from", to.minus(Duration.ofHours(1)));
    if (from.isAfter(to)) {
      return Reply.bad("from (" + from + ") is after to (" + to + ")");
    }
    List<EgressAudit.Usage> usages = Audits.get(system).current().orElseThrow().egressOfPod(ns, name, from, to);
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("namespace", ns);
    out.put("name", name);
    out.put("from", from.toString());
    out.put("to", to.toString());
    out.put("uses", usages.stream().map(u -> {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("podUid", u.use().podUid());
      m.put("podIp", u.use().podIp());
      m.put("configuration", u.use().configKey());
      m.put("egressPrefix", u.egress().prefix());
      m.put("gatewayNode", u.egress().gatewayNode());
      m.put("secondaryIp", u.egress().secondaryIp());
      m.put("from", u.from().toString());
      m.put("to", u.to().toString());
      m.put("podUseEnded", u.use().to() == null ? null : u.use().to().toString());
      return m;
    }).toList());
    return new Reply(StatusCodes.OK, out);
  }

  private static Instant time(Map<String, String> q, String name, Instant otherwise) {
    String v = q.get(name);
    if (v == null || v.isBlank()) {
      return otherwise;
    }
    try {
      return Instant.parse(v);
    } catch (DateTimeParseException e) {
      throw new IllegalArgumentException(name + " must be an ISO-8601 instant such as 2026-12-05T10:15:30Z, got '" + v + "'");
    }
  }

  static Map<String, Object> egress(Egress e) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("configuration", e.configKey());
    m.put("egressPrefix", e.prefix());
    m.put("gatewayNode", e.gatewayNode());
    m.put("secondaryIp", e.secondaryIp());
    m.put("from", e.from().toString());
    m.put("to", e.to() == null ? null : e.to().toString());
    return m;
  }

  static Map<String, Object> pod(PodUse u) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("namespace", u.namespace());
    m.put("name", u.pod());
    m.put("podUid", u.podUid());
    m.put("podIp", u.podIp());
    m.put("configuration", u.configKey());
    m.put("from", u.from().toString());
    m.put("to", u.to() == null ? null : u.to().toString());
    return m;
  }
}
