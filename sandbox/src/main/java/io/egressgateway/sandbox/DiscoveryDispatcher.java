package io.egressgateway.sandbox;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinitionVersion;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.mockwebserver.crud.Attribute;
import io.fabric8.mockwebserver.crud.AttributeSet;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.ByteString;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.fabric8.mockwebserver.http.Response;
import io.fabric8.mockwebserver.http.WebSocket;
import io.fabric8.mockwebserver.http.WebSocketListener;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;

/**
 * fabric8's CRUD dispatcher plus the API discovery documents kubectl needs ({@code /api}, {@code /api/v1},
 * {@code /apis}, {@code /apis/<group>/<version>}); the mock server alone answers them with 404, so kubectl
 * would not know any resource type. It also makes the field selector {@code spec.nodeName} on pods work,
 * for lists and watches, as a node agent's informer uses it: the mock matches field selectors against
 * attributes it keeps for each stored object, and keeps none for that field on its own.
 */
final class DiscoveryDispatcher extends KubernetesCrudDispatcher {

  /** Resource of a group version: plural, kind, namespaced, short names. */
  record Resource(String plural, String singular, String kind, boolean namespaced, List<String> shortNames) {}

  static final String NODE_NAME_FIELD = "spec.nodeName";

  private static final List<Resource> CORE = List.of(
      new Resource("endpoints", "endpoints", "Endpoints", true, List.of("ep")),
      new Resource("pods", "pod", "Pod", true, List.of("po")),
      new Resource("namespaces", "namespace", "Namespace", false, List.of("ns")),
      new Resource("nodes", "node", "Node", false, List.of("no")),
      new Resource("secrets", "secret", "Secret", true, List.of()),
      new Resource("configmaps", "configmap", "ConfigMap", true, List.of("cm")),
      new Resource("events", "event", "Event", true, List.of("ev")),
      new Resource("services", "service", "Service", true, List.of("svc")),
      new Resource("serviceaccounts", "serviceaccount", "ServiceAccount", true, List.of("sa")));

  private final Map<String, List<Resource>> groups = new ConcurrentHashMap<>();
  /** A fault the sandbox injects ({@link Faults}): the members' watch requests get HTTP 500 while set. */
  private volatile boolean failMemberWatches;
  private final java.util.concurrent.atomic.AtomicLong failedWatches = new java.util.concurrent.atomic.AtomicLong();

  DiscoveryDispatcher() {
    super(List.of());
    groups.put("apiextensions.k8s.io/v1",
        List.of(new Resource("customresourcedefinitions", "customresourcedefinition", "CustomResourceDefinition", false, List.of("crd"))));
    groups.put("coordination.k8s.io/v1", List.of(new Resource("leases", "lease", "Lease", true, List.of())));
    // what the chart installs
    groups.put("apps/v1", List.of(
        new Resource("daemonsets", "daemonset", "DaemonSet", true, List.of("ds")),
        new Resource("deployments", "deployment", "Deployment", true, List.of("deploy")),
        new Resource("replicasets", "replicaset", "ReplicaSet", true, List.of("rs"))));
    groups.put("policy/v1", List.of(new Resource("poddisruptionbudgets", "poddisruptionbudget", "PodDisruptionBudget", true, List.of("pdb"))));
    groups.put("rbac.authorization.k8s.io/v1", List.of(
        new Resource("roles", "role", "Role", true, List.of()),
        new Resource("rolebindings", "rolebinding", "RoleBinding", true, List.of()),
        new Resource("clusterroles", "clusterrole", "ClusterRole", false, List.of()),
        new Resource("clusterrolebindings", "clusterrolebinding", "ClusterRoleBinding", false, List.of())));
    groups.put("events.k8s.io/v1", List.of(new Resource("events", "event", "Event", true, List.of("ev"))));
  }

  /**
   * Every write of a pod goes through here: the pod's node becomes an attribute of the stored object, so that
   * lists and watches with {@code fieldSelector=spec.nodeName=<node>} match it (and a pod bound later enters
   * such a watch when it is bound).
   */
  @Override
  public void processEvent(String path, AttributeSet pathAttributes, AttributeSet oldAttributes,
      GenericKubernetesResource resource, String newState) {
    if (resource != null && "Pod".equals(resource.getKind())
        && resource.getAdditionalProperties().get("spec") instanceof Map<?, ?> spec
        && spec.get("nodeName") instanceof String node && !node.isEmpty()) {
      pathAttributes = AttributeSet.merge(pathAttributes, new AttributeSet(new Attribute(NODE_NAME_FIELD, node)));
    }
    super.processEvent(path, pathAttributes, oldAttributes, resource, newState);
  }

  /** Makes a CRD's served versions discoverable. */
  void register(CustomResourceDefinition crd) {
    var names = crd.getSpec().getNames();
    boolean namespaced = "Namespaced".equals(crd.getSpec().getScope());
    for (CustomResourceDefinitionVersion v : crd.getSpec().getVersions()) {
      String gv = crd.getSpec().getGroup() + "/" + v.getName();
      List<Resource> list = new ArrayList<>(groups.getOrDefault(gv, List.of()));
      list.removeIf(r -> r.plural().equals(names.getPlural()));
      list.add(new Resource(names.getPlural(), names.getSingular(), names.getKind(), namespaced,
          names.getShortNames() == null ? List.of() : names.getShortNames()));
      groups.put(gv, List.copyOf(list));
    }
  }

  /** While on, every watch request of a member (a pod's service account token) is answered with HTTP 500. */
  void failMemberWatches(boolean on) {
    failMemberWatches = on;
  }

  /** Watch requests answered with 500 so far. */
  long failedWatches() {
    return failedWatches.get();
  }

  @Override
  public MockResponse dispatch(RecordedRequest request) {
    String path = request.getPath();
    String auth = request.getHeader("Authorization");
    if (failMemberWatches && path.contains("watch=true") && auth != null && auth.contains(":serviceaccount:")) {
      failedWatches.incrementAndGet();
      return new MockResponse().setResponseCode(500).addHeader("Content-Type", "application/json").setBody(
          "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"message\":\"injected fault\","
              + "\"reason\":\"InternalError\",\"code\":500}");
    }
    int q = path.indexOf('?');
    String bare = q < 0 ? path : path.substring(0, q);
    if ("GET".equals(request.getMethod())) {
      if (bare.equals("/api")) {
        return json("{\"kind\":\"APIVersions\",\"versions\":[\"v1\"],\"serverAddressByClientCIDRs\":[]}");
      }
      if (bare.equals("/api/v1")) {
        return json(resourceList("v1", CORE));
      }
      if (bare.equals("/apis")) {
        return json(groupList());
      }
      if (bare.startsWith("/apis/") && bare.split("/").length == 4) {
        List<Resource> list = groups.get(bare.substring("/apis/".length()));
        if (list != null) {
          return json(resourceList(bare.substring("/apis/".length()), list));
        }
      }
    }
    MockResponse response = super.dispatch(request);
    if (response != null && response.getWebSocketListener() != null) {
      response.withWebSocketUpgrade(new OffLoopClose(response.getWebSocketListener(), watchListeners));
    }
    // the mock answers without a content type, which clients other than fabric8's (Akka's Kubernetes API
    // discovery) refuse; its answers that have a body are JSON
    if (response != null && response.getWebSocketListener() == null && response.getHeaders().get("Content-Type") == null
        && response.getBody() != null && response.getBody().size() > 0) {
      response.setHeader("Content-Type", "application/json");
    }
    return response;
  }

  /**
   * The mock's registered watch listeners (its private set, which every write's event is sent through), so that a
   * watch that ends leaves it at once ({@link OffLoopClose}); null if this version of the mock has no such field.
   */
  private final java.util.Set<?> watchListeners = watchListeners();

  /** Whether an ending watch can leave the mock's set of watch listeners at once (this version of the mock has it). */
  boolean tracksWatchListeners() {
    return watchListeners != null;
  }

  private java.util.Set<?> watchListeners() {
    try {
      java.lang.reflect.Field f = KubernetesCrudDispatcher.class.getDeclaredField("watchEventListeners");
      f.setAccessible(true);
      return (java.util.Set<?>) f.get(this);
    } catch (ReflectiveOperationException | RuntimeException e) {
      return null;
    }
  }

  /**
   * A watch's WebSocket listener that, when its watch ends, leaves the mock's set of watch listeners at once and
   * runs the mock's own end-of-watch handling off the server's event loop. The mock's handling shuts the
   * watch's sender down first and leaves the set last, after waiting (up to a minute, on the event loop) for
   * the sends still pending, each of which waits up to 30 s for a write only that same loop can complete.
   * Meanwhile (1) every other connection of that loop stalled (other clients' watches got their events late,
   * requests hung) and (2) a write whose event reached the shut-down sender failed there: the object was
   * stored, but the event went to none of the watches after that one in the set, which never learned of the
   * change (a deleted pod stayed in their caches for good), and the writer got a 500.
   */
  static final class OffLoopClose extends WebSocketListener {
    private static final java.util.concurrent.Executor CLOSER = java.util.concurrent.Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "mock-api-watch-close");
      t.setDaemon(true);
      return t;
    });
    private final WebSocketListener delegate;
    private final java.util.Set<?> registered;

    /** {@code registered}: the set the mock keeps {@code delegate} in (null: none to leave). */
    OffLoopClose(WebSocketListener delegate, java.util.Set<?> registered) {
      this.delegate = delegate;
      this.registered = registered;
    }

    private void leave() {
      if (registered != null) {
        registered.remove(delegate);
      }
    }

    @Override
    public void onBeforeAccept(WebSocket webSocket, Response response) {
      delegate.onBeforeAccept(webSocket, response);
    }

    @Override
    public void onOpen(WebSocket webSocket, Response response) {
      delegate.onOpen(webSocket, response);
    }

    @Override
    public void onMessage(WebSocket webSocket, String text) {
      delegate.onMessage(webSocket, text);
    }

    @Override
    public void onMessage(WebSocket webSocket, ByteString bytes) {
      delegate.onMessage(webSocket, bytes);
    }

    @Override
    public void onMessage(WebSocket webSocket, byte[] bytes) {
      delegate.onMessage(webSocket, bytes);
    }

    @Override
    public void onPing(WebSocket webSocket, byte[] bytes) {
      delegate.onPing(webSocket, bytes);
    }

    @Override
    public void onClosing(WebSocket webSocket, int code, String reason) {
      leave();
      delegate.onClosing(webSocket, code, reason);
    }

    @Override
    public void onClosed(WebSocket webSocket, int code, String reason) {
      leave();
      CLOSER.execute(() -> delegate.onClosed(webSocket, code, reason));
    }

    @Override
    public void onFailure(WebSocket webSocket, Throwable t, Response response) {
      leave();
      CLOSER.execute(() -> delegate.onFailure(webSocket, t, response));
    }
  }

  private String groupList() {
    Map<String, List<String>> versionsByGroup = new TreeMap<>();
    groups.keySet().forEach(gv -> versionsByGroup.computeIfAbsent(gv.split("/")[0], g -> new ArrayList<>()).add(gv.split("/")[1]));
    String body = versionsByGroup.entrySet().stream().map(e -> {
      String versions = e.getValue().stream()
          .map(v -> "{\"groupVersion\":\"" + e.getKey() + "/" + v + "\",\"version\":\"" + v + "\"}")
          .collect(Collectors.joining(","));
      String preferred = e.getValue().get(0);
      return "{\"name\":\"" + e.getKey() + "\",\"versions\":[" + versions + "],\"preferredVersion\":{\"groupVersion\":\""
          + e.getKey() + "/" + preferred + "\",\"version\":\"" + preferred + "\"}}";
    }).collect(Collectors.joining(","));
    return "{\"kind\":\"APIGroupList\",\"apiVersion\":\"v1\",\"groups\":[" + body + "]}";
  }

  private static String resourceList(String groupVersion, List<Resource> resources) {
    String verbs = "[\"create\",\"delete\",\"deletecollection\",\"get\",\"list\",\"patch\",\"update\",\"watch\"]";
    String body = resources.stream().map(r -> "{\"name\":\"" + r.plural() + "\",\"singularName\":\"" + r.singular()
        + "\",\"namespaced\":" + r.namespaced() + ",\"kind\":\"" + r.kind() + "\",\"verbs\":" + verbs
        + ",\"shortNames\":[" + r.shortNames().stream().map(s -> "\"" + s + "\"").collect(Collectors.joining(",")) + "]}"
    ).collect(Collectors.joining(","));
    String status = resources.stream().filter(r -> !r.plural().contains("/")).map(r -> "{\"name\":\"" + r.plural()
        + "/status\",\"singularName\":\"\",\"namespaced\":" + r.namespaced() + ",\"kind\":\"" + r.kind()
        + "\",\"verbs\":[\"get\",\"patch\",\"update\"]}").collect(Collectors.joining(","));
    return "{\"kind\":\"APIResourceList\",\"apiVersion\":\"v1\",\"groupVersion\":\"" + groupVersion
        + "\",\"resources\":[" + body + (status.isEmpty() ? "" : "," + status) + "]}";
  }

  private static MockResponse json(String body) {
    return new MockResponse().setResponseCode(200).addHeader("Content-Type", "application/json").setBody(body);
  }
}
