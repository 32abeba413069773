package io.egressgateway.app;

import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Benchmark (not a test): starts {@code egress local} N times as a real process and prints the time from
 * exec to {@code /ready} = 200, the resident memory once ready, and the time from SIGTERM to exit.
 *
 * <pre>java -cp "app/target/dist/lib/*:app/target/test-classes" io.egressgateway.app.StartupBenchmark 5</pre>
 */
public final class StartupBenchmark {
  public static void main(String[] args) throws Exception {
    int runs = args.length > 0 ? Integer.parseInt(args[0]) : 5;
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
    List<Long> ready = new ArrayList<>();
    List<Long> rss = new ArrayList<>();
    List<Long> stop = new ArrayList<>();
    for (int i = 0; i < runs; i++) {
      int port;
      try (ServerSocket s = new ServerSocket(0)) {
        port = s.getLocalPort();
      }
      long t0 = System.nanoTime();
      Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "-cp", System.getProperty("java.class.path"), "io.egressgateway.app.Main", "local",
          "--node", "bench", "--management-port", Integer.toString(port), "--remote-port", "0")
          .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      while (true) {
        try {
          if (http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/ready")).build(),
              HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
            break;
          }
        } catch (Exception notYet) {
          // keep polling
        }
        Thread.sleep(20);
      }
      ready.add((System.nanoTime() - t0) / 1_000_000);
      rss.add(rssKb(p.pid()) / 1024);
      long s0 = System.nanoTime();
      p.destroy();
      p.waitFor(60, TimeUnit.SECONDS);
      stop.add((System.nanoTime() - s0) / 1_000_000);
    }
    System.out.printf("egress local, %d runs%n", runs);
    System.out.printf("exec -> /ready 200 (ms): %s  median %d%n", ready, median(ready));
    System.out.printf("RSS when ready (MiB):    %s  median %d%n", rss, median(rss));
    System.out.printf("SIGTERM -> exit (ms):    %s  median %d%n", stop, median(stop));
  }

  private static long rssKb(long pid) throws Exception {
    for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", ""));
      }
    }
    return -1;
  }

  private static long median(List<Long> v) {
    List<Long> s = new ArrayList<>(v);
    Collections.sort(s);
    return s.get(s.size() / 2);
  }
}
