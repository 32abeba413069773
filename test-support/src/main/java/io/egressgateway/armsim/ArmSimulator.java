package io.egressgateway.armsim;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;

/**
 * An Azure Resource Manager stand-in over HTTPS (self-signed certificate) for the resources the egress
 * gateway touches: load balancers, public IP prefixes and addresses, VM scale sets with their instances and
 * NICs, standalone VMs and NICs (AKS "VirtualMachines" pools), and subnets; plus an OAuth token endpoint so
 * credential flows can be pointed at it.
 *
 * <p>Behaves like ARM where it matters to a client: PUT/DELETE are long-running operations (201/202 with
 * {@code Azure-AsyncOperation} and {@code Retry-After}); every resource carries an ETag and a PUT with a
 * stale {@code If-Match} gets 412; references to missing resources, invalid prefix lengths, prefixes too small
 * for the scale set and deleting resources still in use get 400 with ARM's error codes. Faults (429 with
 * Retry-After, 5xx, latency, a concurrent writer) are injectable. Every request lands in a call log that
 * tests assert on, next to an inventory of the stored resources.
 *
 * <p>Start with {@link #start()}, stop with {@link #close()}; {@link #main} runs one until killed.
 */
public final class ArmSimulator implements AutoCloseable {
  public static final String SUBSCRIPTION = "00000000-0000-0000-0000-0000000000a1";
  public static final String TENANT = "00000000-0000-0000-0000-0000000000b2";
  public static final String ACCESS_TOKEN = "armsim-token";

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern WRITE = Pattern.compile("PUT|POST|PATCH|DELETE");

  /** One request as the simulator saw it. */
  public record Call(Instant at, String method, String path, int status) {
    public boolean isWrite() {
      return WRITE.matcher(method).matches() && !path.contains("/oauth2/");
    }
  }

  private record Fault(String method, Pattern path, int status, int retryAfterSeconds, int[] remaining) {}

  private record Delay(String method, Pattern path, Duration delay) {}

  private record Hook(Pattern path, Consumer<ArmSimulator> action) {}

  private final HttpsServer server;
  private final ExecutorService executor;
  private final SelfSignedTls tls;
  private final Object lock = new Object();
  private final Map<String, ObjectNode> resources = new TreeMap<>();
  private final Map<String, Instant> operations = new HashMap<>();
  private final Map<String, Integer> nextHost = new HashMap<>();
  private final List<Call> calls = new CopyOnWriteArrayList<>();
  private final List<String[]> serving = new CopyOnWriteArrayList<>();
  private final List<Fault> faults = new CopyOnWriteArrayList<>();
  private final List<Delay> delays = new CopyOnWriteArrayList<>();
  private final List<Hook> hooks = new CopyOnWriteArrayList<>();
  private final AtomicLong prefixBlocks = new AtomicLong();
  private final AtomicLong publicIps = new AtomicLong();
  private volatile Duration lroDuration = Duration.ZERO;
  private volatile boolean holdOperations;
  private volatile Instant heldSince = Instant.MIN;
  private final java.util.concurrent.atomic.AtomicInteger failOperations = new java.util.concurrent.atomic.AtomicInteger();
  private final java.util.Set<String> failedOperations = java.util.concurrent.ConcurrentHashMap.newKeySet();
  private final ThreadLocal<String> requestBase = new ThreadLocal<>();
  private volatile int minPrefixLength = 28;

  private ArmSimulator(SelfSignedTls tls) throws IOException {
    this.tls = tls;
    this.server = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
    server.setHttpsConfigurator(new HttpsConfigurator(tls.serverContext()));
    this.executor = Executors.newFixedThreadPool(8, r -> {
      Thread t = new Thread(r, "armsim");
      t.setDaemon(true);
      return t;
    });
    server.setExecutor(executor);
    server.createContext("/", this::handle);
    server.start();
  }

  /** Starts a simulator on a free loopback port with a fresh certificate. */
  public static ArmSimulator start() {
    return start(List.of());
  }

  /**
   * Starts a simulator on a free loopback port with a fresh certificate that also names {@code extraIps}
   * (addresses at which clients reach it through a relay).
   */
  public static ArmSimulator start(List<String> extraIps) {
    try {
      return new ArmSimulator(SelfSignedTls.generate(extraIps));
    } catch (IOException e) {
      throw new IllegalStateException("cannot start the ARM simulator", e);
    }
  }

  /** Runs a simulator with one seeded pool until the process is killed; prints its URL and certificate. */
  public static void main(String[] args) throws Exception {
    ArmSimulator sim = start();
    String subnet = sim.seedNetwork("rg-net", "vnet", "gateway", "10.0.1.0/24");
    sim.seedVmss("rg-nodes", "aks-gateway-vmss", "gateway", args.length > 0 ? Integer.parseInt(args[0]) : 2, subnet);
    System.out.println(sim.baseUrl());
    System.out.println("-----BEGIN CERTIFICATE-----");
    System.out.println(java.util.Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
        .encodeToString(sim.tls.certificate().getEncoded()));
    System.out.println("-----END CERTIFICATE-----");
    Thread.currentThread().join();
  }

  public String baseUrl() {
    return "https://127.0.0.1:" + server.getAddress().getPort();
  }

  /** An SSL context that trusts this simulator (and nothing else). */
  public SSLContext sslContext() {
    return tls.clientContext();
  }

  public SelfSignedTls tls() {
    return tls;
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }

  // ------------------------------------------------------------------ knobs

  /** How long an operation stays InProgress (default: done at the first poll). */
  public void setLroDuration(Duration d) {
    lroDuration = d;
  }

  /**
   * While on, every long-running operation (new or already started) stays InProgress, as ARM holds one open
   * for minutes; turning it off lets them finish as usual.
   */
  public void holdOperations(boolean hold) {
    if (hold && !holdOperations) {
      heldSince = Instant.now();
    }
    holdOperations = hold;
  }

  /**
   * The next {@code count} long-running operations started end {@code Failed} (with an error code) instead of
   * {@code Succeeded}; the resource change they were for is applied anyway, as ARM can leave a resource
   * half-updated after a failed operation.
   */
  public void failNextOperations(int count) {
    failOperations.set(count);
  }

  /** Operations started and not finished yet (InProgress at their next poll). */
  public long operationsInProgress() {
    synchronized (lock) {
      Instant now = Instant.now();
      Instant from = holdOperations && heldSince.isBefore(now) ? heldSince : now;
      return operations.values().stream().filter(from::isBefore).count();
    }
  }

  /** Smallest prefix length (largest prefix) accepted; Azure's default quota allows /28 to /31. */
  public void setMinPrefixLength(int length) {
    minPrefixLength = length;
  }

  /** The next {@code count} requests matching method and path regex get {@code status} (429 with Retry-After). */
  public void failNext(String method, String pathRegex, int status, int count, int retryAfterSeconds) {
    faults.add(new Fault(method, Pattern.compile(pathRegex, Pattern.CASE_INSENSITIVE), status, retryAfterSeconds, new int[] {count}));
  }

  /** Requests matching method and path regex wait {@code delay} before being served. */
  public void addLatency(String method, String pathRegex, Duration delay) {
    delays.add(new Delay(method, Pattern.compile(pathRegex, Pattern.CASE_INSENSITIVE), delay));
  }

  public void clearFaults() {
    faults.clear();
    delays.clear();
    hooks.clear();
    holdOperations = false;
    failOperations.set(0);
  }

  /** Runs {@code action} once, right before the next PUT matching the path regex is evaluated (a concurrent writer). */
  public void beforeNextPut(String pathRegex, Consumer<ArmSimulator> action) {
    hooks.add(new Hook(Pattern.compile(pathRegex, Pattern.CASE_INSENSITIVE), action));
  }

  // -------------------------------------------------------------- call log

  public List<Call> calls() {
    return List.copyOf(calls);
  }

  public void clearCalls() {
    calls.clear();
  }

  public long writes() {
    return calls.stream().filter(Call::isWrite).count();
  }

  public long reads() {
    return calls.stream().filter(c -> c.method().equals("GET")).count();
  }

  /** Requests being served right now (received, not yet answered) whose method and path match. */
  public long inFlight(String method, String pathRegex) {
    Pattern p = Pattern.compile(pathRegex, Pattern.CASE_INSENSITIVE);
    return serving.stream().filter(r -> r[0].equals(method) && p.matcher(r[1]).find()).count();
  }

  /** Calls whose method matches and whose path matches the regex (case-insensitive, anywhere in the path). */
  public long count(String method, String pathRegex) {
    Pattern p = Pattern.compile(pathRegex, Pattern.CASE_INSENSITIVE);
    return calls.stream().filter(c -> c.method().equals(method) && p.matcher(c.path()).find()).count();
  }

  // -------------------------------------------------------------- inventory

  public static String rgId(String rg) {
    return "/subscriptions/" + SUBSCRIPTION + "/resourceGroups/" + rg;
  }

  public Optional<JsonNode> resource(String id) {
    synchronized (lock) {
      ObjectNode r = resources.get(key(id));
      return Optional.ofNullable(r == null ? null : r.deepCopy());
    }
  }

  /** Every stored resource of a type such as {@code Microsoft.Network/publicIPPrefixes}. */
  public List<JsonNode> resources(String type) {
    synchronized (lock) {
      List<JsonNode> out = new ArrayList<>();
      for (ObjectNode r : resources.values()) {
        if (r.path("type").asText().equalsIgnoreCase(type)) {
          out.add(r.deepCopy());
        }
      }
      return out;
    }
  }

  /** The whole inventory without ETags: equal snapshots mean equal resources. */
  public Map<String, JsonNode> snapshot() {
    synchronized (lock) {
      Map<String, JsonNode> out = new TreeMap<>();
      resources.forEach((k, v) -> out.put(k, withoutEtags(v.deepCopy())));
      return out;
    }
  }

  /** Changes a stored resource out of band (a portal user, another controller); bumps its ETag. */
  public void mutate(String id, Consumer<ObjectNode> change) {
    synchronized (lock) {
      ObjectNode r = resources.get(key(id));
      if (r == null) {
        throw new IllegalArgumentException("no resource " + id);
      }
      change.accept(r);
      r.put("etag", newEtag());
    }
  }

  /** A resource group with a VNet and one subnet; returns the subnet id. */
  public String seedNetwork(String rg, String vnet, String subnet, String cidr) {
    String vnetId = rgId(rg) + "/providers/Microsoft.Network/virtualNetworks/" + vnet;
    String subnetId = vnetId + "/subnets/" + subnet;
    ObjectNode v = JSON.createObjectNode().put("id", vnetId).put("name", vnet).put("type", "Microsoft.Network/virtualNetworks")
        .put("location", "westeurope");
    v.putObject("properties").putObject("addressSpace").putArray("addressPrefixes").add(cidr);
    ObjectNode s = JSON.createObjectNode().put("id", subnetId).put("name", subnet).put("type", "Microsoft.Network/virtualNetworks/subnets");
    s.putObject("properties").put("addressPrefix", cidr).put("provisioningState", "Succeeded");
    synchronized (lock) {
      store(v);
      store(s);
    }
    return subnetId;
  }

  /** A public IP prefix someone else made (for BYO tests); returns its id. */
  public String seedPublicIpPrefix(String rg, String name, int length) {
    String id = rgId(rg) + "/providers/Microsoft.Network/publicIPPrefixes/" + name;
    ObjectNode p = JSON.createObjectNode().put("id", id).put("name", name).put("type", "Microsoft.Network/publicIPPrefixes")
        .put("location", "westeurope");
    p.putObject("sku").put("name", "Standard").put("tier", "Regional");
    p.putObject("properties").put("prefixLength", length).put("publicIPAddressVersion", "IPv4")
        .put("ipPrefix", allocatePrefix(length)).put("provisioningState", "Succeeded");
    synchronized (lock) {
      store(p);
    }
    return id;
  }

  /**
   * A scale set tagged {@code aks-managed-poolName=<pool>} with {@code instances} instances, each with one
   * NIC whose primary ipConfig has an address in the subnet. Returns the scale set id.
   */
  public String seedVmss(String rg, String name, String pool, int instances, String subnetId) {
    String id = rgId(rg) + "/providers/Microsoft.Compute/virtualMachineScaleSets/" + name;
    ObjectNode vmss = JSON.createObjectNode().put("id", id).put("name", name)
        .put("type", "Microsoft.Compute/virtualMachineScaleSets").put("location", "westeurope");
    vmss.putObject("tags").put("aks-managed-poolName", pool);
    vmss.putObject("sku").put("name", "Standard_D2s_v5").put("tier", "Standard").put("capacity", instances);
    ObjectNode props = vmss.putObject("properties");
    props.put("uniqueId", UUID.nameUUIDFromBytes(id.toLowerCase(Locale.ROOT).getBytes(StandardCharsets.UTF_8)).toString());
    props.put("provisioningState", "Succeeded");
    props.putObject("upgradePolicy").put("mode", "Manual");
    ObjectNode nicConfig = props.putObject("virtualMachineProfile").putObject("networkProfile")
        .putArray("networkInterfaceConfigurations").addObject();
    nicConfig.put("name", name + "-nic");
    ObjectNode nicProps = nicConfig.putObject("properties").put("primary", true).put("enableIPForwarding", true);
    ObjectNode ipc = nicProps.putArray("ipConfigurations").addObject().put("name", "ipconfig1");
    ipc.putObject("properties").put("primary", true).put("privateIPAddressVersion", "IPv4").putObject("subnet").put("id", subnetId);
    synchronized (lock) {
      store(vmss);
      for (int i = 0; i < instances; i++) {
        addInstance(vmss, i);
      }
    }
    return id;
  }

  /**
   * An AKS "VirtualMachines" gateway pool: {@code count} VMs tagged {@code aks-managed-poolName=<pool>}, each
   * with one NIC tagged {@code aks-managed-static-gateway-nic} and the pool name, whose primary ipConfig has an
   * address in the subnet. VM {@code i} is {@code aks-<pool>-vm<i>} (also its computer name), its NIC
   * {@code aks-<pool>-vm<i>-gwnic}. Returns the NIC ids.
   */
  public List<String> seedVmPool(String rg, String pool, int count, String subnetId) {
    List<String> nics = new ArrayList<>();
    synchronized (lock) {
      for (int i = 0; i < count; i++) {
        String vmName = "aks-" + pool + "-vm" + i;
        String vmId = rgId(rg) + "/providers/Microsoft.Compute/virtualMachines/" + vmName;
        String nicId = seedNicLocked(rg, vmName + "-gwnic", subnetId, Map.of("aks-managed-poolName", pool, "aks-managed-static-gateway-nic", "true"), vmId);
        ObjectNode vm = JSON.createObjectNode().put("id", vmId).put("name", vmName).put("type", "Microsoft.Compute/virtualMachines")
            .put("location", "westeurope");
        vm.putObject("tags").put("aks-managed-poolName", pool);
        ObjectNode p = vm.putObject("properties").put("provisioningState", "Succeeded").put("vmId", UUID.randomUUID().toString());
        p.putObject("hardwareProfile").put("vmSize", "Standard_D2s_v5");
        p.putObject("osProfile").put("computerName", vmName);
        p.putObject("networkProfile").putArray("networkInterfaces").addObject().put("id", nicId).putObject("properties").put("primary", true);
        store(vm);
        nics.add(nicId);
      }
    }
    return nics;
  }

  /**
   * A standalone NIC with one primary ipConfig in the subnet, the given tags and no VM (a spare pre-created
   * gateway NIC, or someone else's NIC). Returns its id.
   */
  public String seedNic(String rg, String name, String subnetId, Map<String, String> tags) {
    synchronized (lock) {
      return seedNicLocked(rg, name, subnetId, tags, null);
    }
  }

  private String seedNicLocked(String rg, String name, String subnetId, Map<String, String> tags, String vmId) {
    String id = rgId(rg) + "/providers/Microsoft.Network/networkInterfaces/" + name;
    ObjectNode nic = JSON.createObjectNode().put("id", id).put("name", name).put("type", "Microsoft.Network/networkInterfaces")
        .put("location", "westeurope");
    ObjectNode t = nic.putObject("tags");
    tags.forEach(t::put);
    ObjectNode np = nic.putObject("properties").put("primary", true).put("provisioningState", "Succeeded");
    if (vmId != null) {
      np.putObject("virtualMachine").put("id", vmId);
    }
    ObjectNode ipc = np.putArray("ipConfigurations").addObject().put("name", "ipconfig1").put("id", id + "/ipConfigurations/ipconfig1");
    ObjectNode ip = ipc.putObject("properties").put("primary", true).put("privateIPAddress", allocateIp(subnetId))
        .put("privateIPAllocationMethod", "Dynamic").put("privateIPAddressVersion", "IPv4").put("provisioningState", "Succeeded");
    ip.putObject("subnet").put("id", subnetId);
    store(nic);
    return id;
  }

  private void addInstance(ObjectNode vmss, int index) {
    String vmId = vmss.get("id").asText() + "/virtualMachines/" + index;
    String nicName = vmss.get("name").asText() + "-nic";
    String nicId = vmId + "/networkInterfaces/" + nicName;
    ObjectNode vm = JSON.createObjectNode().put("id", vmId).put("name", vmss.get("name").asText() + "_" + index)
        .put("type", "Microsoft.Compute/virtualMachineScaleSets/virtualMachines").put("location", "westeurope")
        .put("instanceId", String.valueOf(index));
    ObjectNode p = vm.putObject("properties").put("latestModelApplied", true).put("provisioningState", "Succeeded");
    p.putObject("osProfile").put("computerName", vmss.get("name").asText() + String.format("%06d", index));
    p.putObject("networkProfile").putArray("networkInterfaces").addObject().put("id", nicId);
    ObjectNode nic = JSON.createObjectNode().put("id", nicId).put("name", nicName).put("type", "Microsoft.Network/networkInterfaces")
        .put("location", "westeurope");
    ObjectNode np = nic.putObject("properties").put("primary", true).put("provisioningState", "Succeeded");
    np.putObject("virtualMachine").put("id", vmId);
    np.putArray("ipConfigurations");
    store(vm);
    store(nic);
    applyModel(vmss, vm, nic);
  }

  // ---------------------------------------------------------------- serving

  private void handle(HttpExchange ex) throws IOException {
    String[] request = {ex.getRequestMethod(), ex.getRequestURI().getPath()};
    serving.add(request);
    String host = ex.getRequestHeaders().getFirst("Host");
    // operation URLs point where the client reached this server (through a relay, another address than ours)
    requestBase.set(host == null || host.isBlank() || !host.matches("[A-Za-z0-9.:\\[\\]-]+") ? baseUrl() : "https://" + host);
    try {
      serve(ex);
    } finally {
      requestBase.remove();
      serving.remove(request);
    }
  }

  private void serve(HttpExchange ex) throws IOException {
    String method = ex.getRequestMethod();
    String path = ex.getRequestURI().getPath();
    Response resp;
    try {
      for (Delay d : delays) {
        if (d.method().equals(method) && d.path().matcher(path).find()) {
          Thread.sleep(d.delay().toMillis());
        }
      }
      resp = injectedFault(method, path);
      if (resp == null) {
        byte[] body = readAll(ex.getRequestBody());
        resp = route(method, path, ex, body);
      }
    } catch (ArmError e) {
      resp = error(e.status, e.code, e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      resp = error(500, "InternalServerError", "interrupted");
    } catch (RuntimeException e) {
      resp = error(500, "InternalServerError", String.valueOf(e));
    }
    calls.add(new Call(Instant.now(), method, path, resp.status));
    byte[] bytes = resp.body == null ? new byte[0] : JSON.writeValueAsBytes(resp.body);
    resp.headers.forEach((k, v) -> ex.getResponseHeaders().add(k, v));
    ex.getResponseHeaders().add("x-ms-request-id", UUID.randomUUID().toString());
    if (bytes.length > 0) {
      ex.getResponseHeaders().add("Content-Type", "application/json; charset=utf-8");
    }
    ex.sendResponseHeaders(resp.status, bytes.length == 0 ? -1 : bytes.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(bytes);
    }
  }

  private static byte[] readAll(InputStream in) throws IOException {
    try (in) {
      return in.readAllBytes();
    }
  }

  private Response injectedFault(String method, String path) {
    for (Fault f : faults) {
      if (f.method().equals(method) && f.path().matcher(path).find()) {
        synchronized (f.remaining()) {
          if (f.remaining()[0] > 0) {
            f.remaining()[0]--;
            Response r = error(f.status(), f.status() == 429 ? "TooManyRequests" : f.status() == 409 ? "AnotherOperationInProgress"
                : "InternalServerError", f.status() == 409 ? "Another operation on this or a dependent resource is in progress." : "injected fault");
            if (f.retryAfterSeconds() > 0) {
              r.headers.put("Retry-After", String.valueOf(f.retryAfterSeconds()));
            }
            return r;
          }
        }
      }
    }
    return null;
  }

  private Response route(String method, String path, HttpExchange ex, byte[] body) throws IOException {
    String lower = path.toLowerCase(Locale.ROOT);
    if (method.equals("POST") && lower.endsWith("/oauth2/v2.0/token")) {
      ObjectNode t = JSON.createObjectNode().put("token_type", "Bearer").put("expires_in", 3600)
          .put("ext_expires_in", 3600).put("access_token", ACCESS_TOKEN);
      return new Response(200, t);
    }
    String auth = ex.getRequestHeaders().getFirst("Authorization");
    if (auth == null || !auth.startsWith("Bearer ")) {
      throw new ArmError(401, "AuthenticationFailed", "missing bearer token");
    }
    if (lower.startsWith("/operations/")) {
      return operationStatus(lower);
    }
    if (!lower.startsWith("/subscriptions/")) {
      throw new ArmError(404, "NotFound", "no route " + path);
    }
    String id = trimSlash(path);
    String ifMatch = ex.getRequestHeaders().getFirst("If-Match");
    synchronized (lock) {
      return switch (method) {
        case "GET" -> get(id);
        case "PUT" -> put(id, body, ifMatch);
        case "DELETE" -> delete(id);
        case "POST" -> post(id, body);
        default -> throw new ArmError(405, "MethodNotAllowed", method);
      };
    }
  }

  private Response operationStatus(String path) {
    Instant doneAt;
    synchronized (lock) {
      doneAt = operations.get(path);
    }
    if (doneAt == null) {
      throw new ArmError(404, "NotFound", "no operation " + path);
    }
    boolean done = !holdOperations && !Instant.now().isBefore(doneAt);
    boolean failed = done && failedOperations.contains(path);
    ObjectNode status = JSON.createObjectNode().put("status", done ? failed ? "Failed" : "Succeeded" : "InProgress");
    if (failed) {
      status.putObject("error").put("code", "InternalServerError").put("message", "An unexpected error occured while processing the request (injected).");
    }
    Response r = new Response(200, status);
    if (!done) {
      r.headers.put("Retry-After", "1");
    }
    return r;
  }

  private Response get(String id) {
    ObjectNode r = resources.get(key(id));
    if (r != null) {
      Response resp = new Response(200, r.deepCopy());
      if (r.has("etag")) {
        resp.headers.put("ETag", r.get("etag").asText());
      }
      return resp;
    }
    String k = key(id);
    if (k.matches(".*/microsoft\\.compute/virtualmachinescalesets/[^/]+/networkinterfaces")) {
      String vmssPrefix = k.substring(0, k.length() - "/networkinterfaces".length()) + "/virtualmachines/";
      return list(e -> e.getKey().startsWith(vmssPrefix) && e.getKey().contains("/networkinterfaces/"));
    }
    if (isCollection(k)) {
      return list(e -> e.getKey().startsWith(k + "/") && e.getKey().substring(k.length() + 1).indexOf('/') < 0);
    }
    throw new ArmError(404, "ResourceNotFound", "The Resource '" + id + "' was not found.");
  }

  private static boolean isCollection(String k) {
    // .../providers/<ns>/<type>[/<name>/<subtype>]*: an odd number of segments after "providers/<ns>"
    int at = k.indexOf("/providers/");
    if (at < 0) {
      return false;
    }
    String[] segs = k.substring(at + "/providers/".length()).split("/");
    return segs.length >= 2 && (segs.length - 1) % 2 == 1;
  }

  private Response list(java.util.function.Predicate<Map.Entry<String, ObjectNode>> filter) {
    ObjectNode out = JSON.createObjectNode();
    ArrayNode value = out.putArray("value");
    resources.entrySet().stream().filter(filter).forEach(e -> value.add(e.getValue().deepCopy()));
    return new Response(200, out);
  }

  private Response put(String id, byte[] body, String ifMatch) throws IOException {
    for (Hook h : hooks) {
      if (h.path().matcher(id).find() && hooks.remove(h)) {
        h.action().accept(this);
      }
    }
    ObjectNode existing = resources.get(key(id));
    if (ifMatch != null && (existing == null || !ifMatch.equals("*") && !ifMatch.equals(existing.path("etag").asText()))) {
      throw new ArmError(412, "PreconditionFailed", "The condition specified using HTTP conditional header(s) is not met.");
    }
    ObjectNode in = (ObjectNode) JSON.readTree(body);
    String type = typeOf(id);
    ObjectNode stored = switch (type) {
      case "microsoft.network/loadbalancers" -> ArmRules.loadBalancer(this, id, in, existing);
      case "microsoft.network/publicipprefixes" -> ArmRules.prefix(this, id, in, existing);
      case "microsoft.compute/virtualmachinescalesets" -> ArmRules.scaleSet(this, id, in, existing);
      case "microsoft.network/networkinterfaces" -> ArmRules.networkInterface(this, id, in, existing);
      case "microsoft.network/publicipaddresses" -> ArmRules.publicIp(this, id, in, existing);
      default -> throw new ArmError(400, "UnsupportedResourceType", "the simulator does not accept PUT on " + type);
    };
    store(stored);
    return accepted(existing == null ? 201 : 200, stored);
  }

  private Response delete(String id) {
    ObjectNode existing = resources.get(key(id));
    if (existing == null) {
      return new Response(204, null);
    }
    String type = typeOf(id);
    switch (type) {
      case "microsoft.network/loadbalancers" -> ArmRules.checkLoadBalancerUnused(this, existing);
      case "microsoft.network/publicipprefixes" -> ArmRules.checkPrefixUnused(this, existing);
      case "microsoft.network/publicipaddresses" -> ArmRules.checkPublicIpUnused(this, existing);
      default -> throw new ArmError(400, "UnsupportedResourceType", "the simulator does not accept DELETE on " + type);
    }
    resources.remove(key(id));
    return accepted(202, null);
  }

  private Response post(String id, byte[] body) throws IOException {
    String k = key(id);
    if (!k.endsWith("/manualupgrade")) {
      throw new ArmError(404, "NotFound", "no action " + id);
    }
    ObjectNode vmss = resources.get(k.substring(0, k.length() - "/manualupgrade".length()));
    if (vmss == null) {
      throw new ArmError(404, "ResourceNotFound", "no scale set for " + id);
    }
    JsonNode ids = JSON.readTree(body).path("instanceIds");
    List<String> wanted = new ArrayList<>();
    ids.forEach(n -> wanted.add(n.asText()));
    for (String instanceId : wanted) {
      ObjectNode vm = resources.get(key(vmss.get("id").asText() + "/virtualMachines/" + instanceId));
      if (vm == null) {
        throw new ArmError(400, "InvalidParameter", "instance " + instanceId + " does not exist");
      }
    }
    ArmRules.checkPrefixCapacity(this, vmss, wanted.size());
    for (String instanceId : wanted) {
      ObjectNode vm = resources.get(key(vmss.get("id").asText() + "/virtualMachines/" + instanceId));
      ObjectNode nic = resources.get(key(vm.path("properties").path("networkProfile").path("networkInterfaces").path(0).path("id").asText()));
      applyModel(vmss, vm, nic);
    }
    return accepted(202, null);
  }

  /** Puts the scale set model's primary NIC configuration onto one instance's NIC. */
  void applyModel(ObjectNode vmss, ObjectNode vm, ObjectNode nic) {
    JsonNode nicConfig = vmss.path("properties").path("virtualMachineProfile").path("networkProfile")
        .path("networkInterfaceConfigurations").path(0);
    Map<String, JsonNode> old = new HashMap<>();
    nic.path("properties").path("ipConfigurations").forEach(c -> old.put(c.path("name").asText(), c));
    ArrayNode fresh = JSON.createArrayNode();
    for (JsonNode c : nicConfig.path("properties").path("ipConfigurations")) {
      String name = c.path("name").asText();
      JsonNode p = c.path("properties");
      String subnetId = p.path("subnet").path("id").asText();
      JsonNode before = old.get(name);
      String ip = before != null && before.path("properties").path("subnet").path("id").asText().equalsIgnoreCase(subnetId)
          ? before.path("properties").path("privateIPAddress").asText()
          : allocateIp(subnetId);
      ObjectNode out = fresh.addObject().put("name", name).put("id", nic.get("id").asText() + "/ipConfigurations/" + name);
      ObjectNode op = out.putObject("properties").put("primary", p.path("primary").asBoolean(false))
          .put("privateIPAddress", ip).put("privateIPAllocationMethod", "Dynamic").put("privateIPAddressVersion", "IPv4");
      op.putObject("subnet").put("id", subnetId);
      ArrayNode pools = op.putArray("loadBalancerBackendAddressPools");
      p.path("loadBalancerBackendAddressPools").forEach(bp -> pools.addObject().put("id", bp.path("id").asText()));
      String prefixId = p.path("publicIPAddressConfiguration").path("properties").path("publicIPPrefix").path("id").asText("");
      if (!prefixId.isEmpty()) {
        ObjectNode pip = op.putObject("publicIPAddress").put("id", out.get("id").asText() + "/publicIPAddresses/"
            + p.path("publicIPAddressConfiguration").path("name").asText());
        pip.putObject("properties").putObject("publicIPPrefix").put("id", prefixId);
      }
    }
    ((ObjectNode) nic.get("properties")).set("ipConfigurations", fresh);
    nic.put("etag", newEtag());
    ((ObjectNode) vm.get("properties")).put("latestModelApplied", true);
    vm.put("etag", newEtag());
  }

  private Response accepted(int status, ObjectNode body) {
    String op = "/operations/" + UUID.randomUUID();
    operations.put(op, Instant.now().plus(lroDuration));
    boolean fails = failOperations.getAndUpdate(n -> Math.max(0, n - 1)) > 0;
    if (fails) {
      failedOperations.add(op);
    }
    Response r = new Response(status, body == null ? null : body.deepCopy());
    // an operation that will fail or is held answers with a provisioning state that is not final, as ARM does
    // while it works: a client then polls the operation (one that sees Succeeded at once need not)
    if ((fails || holdOperations) && r.body != null && r.body.get("properties") instanceof ObjectNode props
        && props.has("provisioningState")) {
      props.put("provisioningState", "Updating");
    }
    String base = requestBase.get() == null ? baseUrl() : requestBase.get();
    r.headers.put("Azure-AsyncOperation", base + op);
    r.headers.put("Location", base + op);
    r.headers.put("Retry-After", "1");
    // azure-core prefers the millisecond variant, which keeps tests fast
    r.headers.put("retry-after-ms", "20");
    if (body != null && body.has("etag")) {
      r.headers.put("ETag", body.get("etag").asText());
    }
    return r;
  }

  // --------------------------------------------------------------- helpers for ArmRules

  ObjectNode stored(String id) {
    return resources.get(key(id));
  }

  Iterable<ObjectNode> all() {
    return List.copyOf(resources.values());
  }

  void store(ObjectNode r) {
    if (!r.has("etag") || r.get("etag").asText().isEmpty()) {
      r.put("etag", newEtag());
    }
    resources.put(key(r.get("id").asText()), r);
  }

  int minPrefixLength() {
    return minPrefixLength;
  }

  String allocateIp(String subnetId) {
    ObjectNode subnet = resources.get(key(subnetId));
    if (subnet == null) {
      throw new ArmError(400, "InvalidResourceReference", "Resource " + subnetId + " referenced by resource was not found.");
    }
    String cidr = subnet.path("properties").path("addressPrefix").asText();
    String[] parts = cidr.split("/");
    long base = ipToLong(parts[0]);
    long size = 1L << (32 - Integer.parseInt(parts[1]));
    int host = nextHost.merge(key(subnetId), 1, Integer::sum) + 3; // Azure keeps .0 to .3
    if (host >= size - 1) {
      throw new ArmError(400, "SubnetIsFull", "Subnet " + subnetId + " has no free addresses.");
    }
    return longToIp(base + host);
  }

  /** A public address outside any prefix (a public IP created without {@code publicIPPrefix}). */
  String allocatePublicIp() {
    return longToIp(ipToLong("52.160.0.0") + publicIps.incrementAndGet());
  }

  String allocatePrefix(int length) {
    long block = 1L << (32 - length);
    long start = ipToLong("20.100.0.0") + prefixBlocks.getAndIncrement() * 256L;
    return longToIp(start - start % block) + "/" + length;
  }

  static String newEtag() {
    return "W/\"" + UUID.randomUUID() + "\"";
  }

  static String key(String id) {
    return trimSlash(id).toLowerCase(Locale.ROOT);
  }

  private static String trimSlash(String s) {
    return s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
  }

  /** {@code microsoft.network/loadbalancers} for an id of a load balancer, and so on. */
  static String typeOf(String id) {
    String k = key(id);
    int at = k.indexOf("/providers/");
    if (at < 0) {
      return "";
    }
    String[] segs = k.substring(at + "/providers/".length()).split("/");
    StringBuilder t = new StringBuilder(segs[0]);
    for (int i = 1; i < segs.length; i += 2) {
      t.append('/').append(segs[i]);
    }
    return t.toString();
  }

  static long ipToLong(String ip) {
    long v = 0;
    for (String p : ip.split("\\.")) {
      v = v * 256 + Integer.parseInt(p);
    }
    return v;
  }

  static String longToIp(long v) {
    return ((v >> 24) & 255) + "." + ((v >> 16) & 255) + "." + ((v >> 8) & 255) + "." + (v & 255);
  }

  private static JsonNode withoutEtags(JsonNode n) {
    if (n instanceof ObjectNode o) {
      o.remove("etag");
      o.forEach(ArmSimulator::withoutEtags);
    } else if (n instanceof ArrayNode a) {
      a.forEach(ArmSimulator::withoutEtags);
    }
    return n;
  }

  static ObjectMapper json() {
    return JSON;
  }

  private static Response error(int status, String code, String message) {
    ObjectNode body = JSON.createObjectNode();
    body.putObject("error").put("code", code).put("message", message);
    return new Response(status, body);
  }

  private static final class Response {
    final int status;
    final ObjectNode body;
    final Map<String, String> headers = new HashMap<>();

    Response(int status, ObjectNode body) {
      this.status = status;
      this.body = body;
    }
  }

  /** An error ARM would return: status, code and message end up in the standard error body. */
  static final class ArmError extends RuntimeException {
    final int status;
    final String code;

    ArmError(int status, String code, String message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }
}
