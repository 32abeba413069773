package io.egressgateway.sandbox;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.TemplateCommand;
import java.nio.file.Path;

/**
 * {@code helm template} with helm-java, in a JVM of its own: {@code ChartRender CHART_DIR RELEASE NAMESPACE
 * KUBE_VERSION VALUES_FILE [key=value...]} prints the rendered release (hooks and CRDs left out) or, on
 * failure, Helm's message on stderr with exit code 1. Helm's Go runtime takes over the process's SIGTERM and
 * SIGINT once loaded, so the sandbox, which must tear down on Ctrl-C, renders through this process instead
 * of loading it itself.
 */
public final class ChartRender {
  private ChartRender() {}

  public static void main(String[] args) {
    if (args.length < 5) {
      System.err.println("usage: ChartRender CHART_DIR RELEASE NAMESPACE KUBE_VERSION VALUES_FILE [key=value...]");
      System.exit(2);
    }
    try {
      TemplateCommand t = new Helm(Path.of(args[0])).template().withName(args[1]).withNamespace(args[2])
          .withKubeVersion(args[3]).skipCrds().withValuesFile(Path.of(args[4]));
      for (int i = 5; i < args.length; i++) {
        int eq = args[i].indexOf('=');
        t.set(args[i].substring(0, eq), args[i].substring(eq + 1));
      }
      System.out.print(t.call());
      System.out.flush();
      System.exit(0);
    } catch (RuntimeException e) {
      System.err.println(e.getMessage());
      System.exit(1);
    }
  }
}
