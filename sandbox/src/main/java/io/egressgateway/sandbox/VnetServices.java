package io.egressgateway.sandbox;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the cluster reaches over the VNet besides its own nodes, each on a VM of its own so that pods and
 * nodes reach it the way they reach such a service in Azure, by address and through the VNet router:
 *
 * <ul>
 *   <li>the API server's endpoint ({@value #API_IP}:443, HTTPS with a certificate of the sandbox's CA, the
 *       CA every pod gets as its service account's {@code ca.crt}), in front of the in-process API;
 *   <li>the PostgreSQL server of the controllers' journal ({@value #JOURNAL_IP}:5432);
 *   <li>Azure Resource Manager and its sign-in endpoint ({@value #ARM_IP}:443, the ARM simulator, which
 *       serves its own certificate).
 * </ul>
 *
 * Each listens on its VM and forwards through a {@link Relays} unix socket to the service in this process,
 * so nothing is added to the namespace the sandbox runs in.
 */
final class VnetServices {
  static final String API_IP = "10.224.0.20";
  static final int API_PORT = 443;
  static final String JOURNAL_IP = "10.224.0.21";
  static final int JOURNAL_PORT = 5432;
  static final String ARM_IP = "10.224.0.22";
  static final int ARM_PORT = 443;

  private final NetLab lab;
  private final AzureVnet vnet;
  private final Relays relays;
  private final Path dir;
  private String caPem;

  VnetServices(NetLab lab, AzureVnet vnet, Relays relays, Path dir) {
    this.lab = lab;
    this.vnet = vnet;
    this.relays = relays;
    this.dir = dir;
  }

  /**
   * The API at {@value #API_IP}:443: a TLS endpoint with a certificate for that address and the names of the
   * {@code kubernetes} service, signed by a CA made for this run, forwarding to the API on {@code localPort}.
   */
  void exposeApi(int localPort) {
    Pki pki = new Pki(dir);
    Pki.Pair ca = pki.ca("ca", "egress-sandbox-ca");
    Pki.Pair server = pki.signed("apiserver", ca, "kube-apiserver", List.of(
        "subjectAltName=IP:" + API_IP + ",DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,"
            + "DNS:kubernetes.default.svc.cluster.local", "extendedKeyUsage=serverAuth", "keyUsage=critical,digitalSignature"), false);
    caPem = ca.certPem();
    String ns = vnet.addVm("apiserver", API_IP);
    Path sock = relays.export("kube-tls", localPort);
    lab.spawn("apiserver-endpoint", ns, List.of("socat",
        "OPENSSL-LISTEN:" + API_PORT + ",bind=" + API_IP + ",fork,reuseaddr,cert=" + server.cert() + ",key=" + server.key()
            + ",verify=0", "UNIX-CONNECT:" + sock));
    awaitListening(ns, API_IP, API_PORT);
  }

  /** The journal's PostgreSQL (listening on {@code localPort} here) at {@value #JOURNAL_IP}:5432. */
  void exposeJournal(int localPort) {
    expose("journal", JOURNAL_IP, JOURNAL_PORT, localPort);
  }

  /** The ARM simulator (listening on {@code localPort} here) at {@value #ARM_IP}:443; it terminates TLS itself. */
  void exposeArm(int localPort) {
    expose("arm", ARM_IP, ARM_PORT, localPort);
  }

  private void expose(String name, String ip, int port, int localPort) {
    String ns = vnet.addVm(name, ip);
    Path sock = relays.export(name + "-vnet", localPort);
    lab.spawn(name + "-endpoint", ns, List.of("socat", "TCP-LISTEN:" + port + ",bind=" + ip + ",fork,reuseaddr",
        "UNIX-CONNECT:" + sock));
    awaitListening(ns, ip, port);
  }

  /** The CA that signed the API's certificate (PEM), what a pod's service account {@code ca.crt} holds. */
  String caPem() {
    return caPem;
  }

  /** The variables the kubelet gives every container for the {@code kubernetes} service. */
  static Map<String, String> serviceEnv() {
    Map<String, String> env = new LinkedHashMap<>();
    String tcp = "tcp://" + API_IP + ":" + API_PORT;
    env.put("KUBERNETES_SERVICE_HOST", API_IP);
    env.put("KUBERNETES_SERVICE_PORT", Integer.toString(API_PORT));
    env.put("KUBERNETES_SERVICE_PORT_HTTPS", Integer.toString(API_PORT));
    env.put("KUBERNETES_PORT", tcp);
    env.put("KUBERNETES_PORT_443_TCP", tcp);
    env.put("KUBERNETES_PORT_443_TCP_PROTO", "tcp");
    env.put("KUBERNETES_PORT_443_TCP_PORT", Integer.toString(API_PORT));
    env.put("KUBERNETES_PORT_443_TCP_ADDR", API_IP);
    return env;
  }

  /**
   * A service account's token as a pod gets it. The sandbox's API authenticates nobody (fabric8's mock has
   * no authentication or RBAC), so it only names the account.
   */
  static String token(String namespace, String serviceAccount) {
    return "sandbox-token:system:serviceaccount:" + namespace + ":" + serviceAccount;
  }

  /** Waits (up to 5 s) until something listens on {@code ip:port} in namespace {@code ns}. */
  static void awaitListening(String ns, String ip, int port) {
    long deadline = System.currentTimeMillis() + 5000;
    while (System.currentTimeMillis() < deadline) {
      if (Sh.quiet(ns, "sh", "-c", "ss -ltn | grep -q '" + ip + ":" + port + " '").ok()) {
        return;
      }
      Sh.sleep(50);
    }
    throw new IllegalStateException("nothing listens on " + ip + ":" + port + " in " + ns);
  }
}
