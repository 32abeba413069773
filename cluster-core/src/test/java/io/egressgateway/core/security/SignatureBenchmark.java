package io.egressgateway.core.security;

import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.time.Clock;
import java.time.Duration;

/**
 * What a signed message costs in CPU (docs/benchmarks.md, "Signatures"): sign and verify with RSA-2048 (the
 * remoting certificates' keys), ECDSA P-256 and Ed25519 (the message keys of delegated seals), and then
 * {@link Seals} itself, sealing and opening a 400-byte payload with the certificate's key and delegated. Not a
 * test. Run it with the JIT options of the member in question: the worker runs C1 only
 * ({@code -XX:TieredStopAtLevel=1}), where the JDK's RSA has none of C2's big-integer intrinsics.
 *
 * <p>Argument: operations per round (default 300); three rounds, the last printed.
 */
public final class SignatureBenchmark {
  private SignatureBenchmark() {}

  private static final com.sun.management.OperatingSystemMXBean OS =
      (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

  public static void main(String[] args) throws Exception {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 300;
    byte[] data = new byte[400];
    new java.security.SecureRandom().nextBytes(data);
    System.out.println("JVM " + ManagementFactory.getRuntimeMXBean().getInputArguments() + ", " + n + " operations per round");
    for (String[] alg : new String[][] {{"RSA", "SHA256withRSA", "2048"}, {"EC", "SHA256withECDSA", "256"}, {"Ed25519", "Ed25519", "0"}}) {
      KeyPairGenerator g = KeyPairGenerator.getInstance(alg[0]);
      if (!alg[2].equals("0")) {
        g.initialize(Integer.parseInt(alg[2]));
      }
      KeyPair kp = g.generateKeyPair();
      byte[][] sig = new byte[1][];
      double signMs = 0;
      double verifyMs = 0;
      for (int round = 0; round < 3; round++) {
        signMs = cpuMsPer(n, () -> {
          Signature s = Signature.getInstance(alg[1]);
          s.initSign(kp.getPrivate());
          s.update(data);
          sig[0] = s.sign();
        });
        verifyMs = cpuMsPer(n, () -> {
          Signature s = Signature.getInstance(alg[1]);
          s.initVerify(kp.getPublic());
          s.update(data);
          if (!s.verify(sig[0])) {
            throw new IllegalStateException("signature did not verify");
          }
        });
      }
      System.out.printf("%-16s sign %.3f ms, verify %.3f ms of CPU%n", alg[1], signMs, verifyMs);
    }
    // the seals, with the test certificates (RSA-2048, as the chart generates them)
    Seals writer = new Seals(TestCertificates.credentials("controller"), true, Clock.systemUTC(), () -> true);
    Seals reader = new Seals(TestCertificates.credentials("gateway"), true, Clock.systemUTC());
    for (boolean delegated : new boolean[] {false, true}) {
      byte[][] sealed = new byte[1][];
      double sealMs = 0;
      double openMs = 0;
      for (int round = 0; round < 3; round++) {
        sealMs = cpuMsPer(n, () -> sealed[0] = delegated ? writer.seal("c", data) : writer.sealWithCertificate("c", data));
        openMs = cpuMsPer(n, () -> reader.open("c", "Bench", sealed[0], Duration.ofMinutes(2)));
      }
      System.out.printf("Seals, %-16s seal %.3f ms, open %.3f ms of CPU, %d bytes for %d of payload%n",
          delegated ? "delegated" : "certificate key", sealMs, openMs, sealed[0].length, data.length);
    }
  }

  private interface Op {
    void run() throws Exception;
  }

  private static double cpuMsPer(int n, Op op) throws Exception {
    long c0 = OS.getProcessCpuTime();
    for (int i = 0; i < n; i++) {
      op.run();
    }
    return (OS.getProcessCpuTime() - c0) / 1e6 / n;
  }
}
