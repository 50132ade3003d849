package deploy

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	yamlv3 "gopkg.in/yaml.v3"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

const k8sDir = "kubernetes"

// secretEnvNames are the variables the binary reads secrets from; in a
// manifest or unit each may only appear with the _FILE suffix, so the value
// never sits in a pod spec, `kubectl describe` or `systemctl show`.
var secretEnvNames = []string{
	"CVS_CONDECO_DSN",
	"CVS_CONDECO_PASSWORD",
	"CVS_CONDECO_CLIENT_SECRET",
	"CVS_SCIM_TOKEN",
	"CVS_SCIM_CLIENT_SECRET",
	"CVS_NOTIFY_SMTP_PASSWORD",
	"CVS_NOTIFY_WEBHOOK_URL",
}

var (
	errUnknownKind = errors.New("unknown kind")
	docSeparator   = regexp.MustCompile(`(?m)^---[ \t]*$`)
	secretWordRe   = regexp.MustCompile(`(?i)password|secret|token|dsn`)
)

// newObject maps apiVersion/kind to the typed object a manifest must decode into.
func newObject(tm metav1.TypeMeta) (any, error) {
	switch tm.APIVersion + "/" + tm.Kind {
	case "batch/v1/CronJob":
		return &batchv1.CronJob{}, nil
	case "apps/v1/Deployment":
		return &appsv1.Deployment{}, nil
	case "v1/Service":
		return &corev1.Service{}, nil
	case "v1/ConfigMap":
		return &corev1.ConfigMap{}, nil
	case "v1/Secret":
		return &corev1.Secret{}, nil
	case "v1/PersistentVolumeClaim":
		return &corev1.PersistentVolumeClaim{}, nil
	}
	return nil, fmt.Errorf("%w %q", errUnknownKind, tm.APIVersion+"/"+tm.Kind)
}

// decodeStrict rejects unknown and duplicate fields, so a misspelt or
// misplaced key (which kubectl apply may silently drop) fails the test.
func decodeStrict(doc []byte) (any, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return nil, fmt.Errorf("reading kind: %w", err)
	}
	obj, err := newObject(tm)
	if err != nil {
		return nil, err
	}
	if err := yaml.UnmarshalStrict(doc, obj); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", tm.Kind, err)
	}
	return obj, nil
}

// splitDocs splits a multi-document YAML file, dropping empty and
// comment-only documents.
func splitDocs(data []byte) [][]byte {
	var docs [][]byte
	for _, d := range docSeparator.Split(string(data), -1) {
		empty := true
		for _, line := range strings.Split(d, "\n") {
			l := strings.TrimSpace(line)
			if l != "" && !strings.HasPrefix(l, "#") {
				empty = false
				break
			}
		}
		if !empty {
			docs = append(docs, []byte(d))
		}
	}
	return docs
}

func loadFile(t *testing.T, name string) []any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(k8sDir, name))
	if err != nil {
		t.Fatal(err)
	}
	var objs []any
	for i, doc := range splitDocs(data) {
		obj, err := decodeStrict(doc)
		if err != nil {
			t.Fatalf("%s document %d: %v", name, i+1, err)
		}
		objs = append(objs, obj)
	}
	return objs
}

func only[T any](t *testing.T, name string) *T {
	t.Helper()
	var found []*T
	for _, o := range loadFile(t, name) {
		if v, ok := o.(*T); ok {
			found = append(found, v)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s: want exactly one %T, got %d", name, *new(T), len(found))
	}
	return found[0]
}

func kindOf(o any) string {
	return strings.TrimPrefix(fmt.Sprintf("%T", o), "*")
}

func TestManifestsDecodeStrict(t *testing.T) {
	want := map[string][]string{
		"cronjob.yaml":        {"v1.CronJob"},
		"deployment.yaml":     {"v1.Deployment", "v1.Service"},
		"configmap.yaml":      {"v1.ConfigMap"},
		"secret.example.yaml": {"v1.Secret"},
		"pvc.yaml":            {"v1.PersistentVolumeClaim"},
	}
	files, err := filepath.Glob(filepath.Join(k8sDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if _, ok := want[filepath.Base(f)]; !ok {
			t.Errorf("%s is not covered by this test; add it to the table", f)
		}
	}
	for name, kinds := range want {
		t.Run(name, func(t *testing.T) {
			var got []string
			for _, o := range loadFile(t, name) {
				got = append(got, kindOf(o))
			}
			if !slices.Equal(got, kinds) {
				t.Errorf("kinds = %v, want %v", got, kinds)
			}
		})
	}
}

func TestDecodeStrictRejects(t *testing.T) {
	tests := []struct {
		name string
		doc  string
	}{
		{"misspelt field", "apiVersion: batch/v1\nkind: CronJob\nspec:\n  concurencyPolicy: Forbid\n"},
		{"field at wrong level", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  data: {}\n"},
		{"duplicate key", "apiVersion: v1\nkind: ConfigMap\ndata:\n  a: b\n  a: c\n"},
		{"wrong type", "apiVersion: apps/v1\nkind: Deployment\nspec:\n  replicas: one\n"},
		{"unknown kind", "apiVersion: v1\nkind: Pod\n"},
		{"wrong api group", "apiVersion: batch/v1beta1\nkind: CronJob\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := decodeStrict([]byte(tc.doc)); err == nil {
				t.Error("decoded without error")
			}
		})
	}
}

func TestSplitDocs(t *testing.T) {
	in := "# header\n---\na: 1\n---\n# only a comment\n---   \nb: 2\nc: '---'\n"
	got := splitDocs([]byte(in))
	if len(got) != 2 {
		t.Fatalf("got %d documents, want 2: %q", len(got), got)
	}
	if !bytes.Contains(got[1], []byte("c: '---'")) {
		t.Errorf("second document lost its content: %q", got[1])
	}
}

// bundle is what a pod spec is checked against: the config and secret it mounts.
type bundle struct {
	cm     *corev1.ConfigMap
	secret *corev1.Secret
}

func loadBundle(t *testing.T) bundle {
	return bundle{
		cm:     only[corev1.ConfigMap](t, "configmap.yaml"),
		secret: only[corev1.Secret](t, "secret.example.yaml"),
	}
}

func mainContainer(ps *corev1.PodSpec) (*corev1.Container, error) {
	for i := range ps.Containers {
		if ps.Containers[i].Name == "condeco-visitor-sync" {
			return &ps.Containers[i], nil
		}
	}
	return nil, errors.New("no container named condeco-visitor-sync")
}

func containerSC(ps *corev1.PodSpec) (*corev1.SecurityContext, error) {
	c, err := mainContainer(ps)
	if err != nil {
		return nil, err
	}
	if c.SecurityContext == nil {
		return nil, errors.New("container has no securityContext")
	}
	return c.SecurityContext, nil
}

func checkRunAsNonRoot(ps *corev1.PodSpec, _ bundle) error {
	sc, err := containerSC(ps)
	if err != nil {
		return err
	}
	v := sc.RunAsNonRoot
	if v == nil && ps.SecurityContext != nil {
		v = ps.SecurityContext.RunAsNonRoot
	}
	if v == nil || !*v {
		return errors.New("runAsNonRoot is not true")
	}
	uid := sc.RunAsUser
	if uid == nil && ps.SecurityContext != nil {
		uid = ps.SecurityContext.RunAsUser
	}
	if uid == nil || *uid == 0 {
		return errors.New("runAsUser must be a non-zero id (the image's nonroot 65532)")
	}
	return nil
}

func checkReadOnlyRoot(ps *corev1.PodSpec, _ bundle) error {
	sc, err := containerSC(ps)
	if err != nil {
		return err
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		return errors.New("readOnlyRootFilesystem is not true")
	}
	return nil
}

func checkNoPrivilege(ps *corev1.PodSpec, _ bundle) error {
	sc, err := containerSC(ps)
	if err != nil {
		return err
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		return errors.New("allowPrivilegeEscalation is not false")
	}
	if sc.Privileged != nil && *sc.Privileged {
		return errors.New("container is privileged")
	}
	return nil
}

func checkDropAllCaps(ps *corev1.PodSpec, _ bundle) error {
	sc, err := containerSC(ps)
	if err != nil {
		return err
	}
	if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		return errors.New("capabilities do not drop ALL")
	}
	if len(sc.Capabilities.Add) > 0 {
		return fmt.Errorf("capabilities add %v", sc.Capabilities.Add)
	}
	return nil
}

func checkSeccomp(ps *corev1.PodSpec, _ bundle) error {
	sc, err := containerSC(ps)
	if err != nil {
		return err
	}
	p := sc.SeccompProfile
	if p == nil && ps.SecurityContext != nil {
		p = ps.SecurityContext.SeccompProfile
	}
	if p == nil || p.Type != corev1.SeccompProfileTypeRuntimeDefault {
		return errors.New("seccompProfile is not RuntimeDefault")
	}
	return nil
}

// checkResources pins the figures taken from docs/benchmarks.md; change
// them here and in both manifests together.
func checkResources(ps *corev1.PodSpec, _ bundle) error {
	c, err := mainContainer(ps)
	if err != nil {
		return err
	}
	want := []struct {
		list corev1.ResourceList
		name corev1.ResourceName
		qty  string
	}{
		{c.Resources.Requests, corev1.ResourceCPU, "100m"},
		{c.Resources.Requests, corev1.ResourceMemory, "320Mi"},
		{c.Resources.Limits, corev1.ResourceMemory, "512Mi"},
	}
	for _, w := range want {
		got, ok := w.list[w.name]
		if !ok {
			return fmt.Errorf("resource %s (%s) not set", w.name, w.qty)
		}
		if got.Cmp(resource.MustParse(w.qty)) != 0 {
			return fmt.Errorf("resource %s = %s, want %s", w.name, got.String(), w.qty)
		}
	}
	return nil
}

// stopNeedsSeconds is the binary's bound on a stop: 30 s for requests in
// flight (shutdownGrace) plus 20 s for the report and notification
// (finishGrace), in cmd/condeco-visitor-sync/drain.go.
const stopNeedsSeconds = 50

// checkGrace: the kubelet's SIGKILL must not come before the binary has
// written its report; the default grace (30 s) is too short.
func checkGrace(ps *corev1.PodSpec, _ bundle) error {
	if g := ps.TerminationGracePeriodSeconds; g == nil || *g < stopNeedsSeconds {
		return fmt.Errorf("terminationGracePeriodSeconds must be at least %d", stopNeedsSeconds)
	}
	return nil
}

// mountOf returns the volume mounted at dir or at a parent of path.
func mountOf(ps *corev1.PodSpec, c *corev1.Container, p string) (*corev1.VolumeMount, *corev1.Volume) {
	for i := range c.VolumeMounts {
		m := &c.VolumeMounts[i]
		if p != m.MountPath && !strings.HasPrefix(p, strings.TrimSuffix(m.MountPath, "/")+"/") {
			continue
		}
		for j := range ps.Volumes {
			if ps.Volumes[j].Name == m.Name {
				return m, &ps.Volumes[j]
			}
		}
		return m, nil
	}
	return nil, nil
}

func secretHasKey(s *corev1.Secret, key string) bool {
	_, inData := s.Data[key]
	_, inString := s.StringData[key]
	return inData || inString
}

// checkSecretEnvs demands that secrets reach the process only as files from
// the Secret: no literal value and no secretKeyRef (which puts the value
// into the environment, readable in /proc and crash dumps).
func checkSecretEnvs(ps *corev1.PodSpec, b bundle) error {
	c, err := mainContainer(ps)
	if err != nil {
		return err
	}
	if len(c.EnvFrom) > 0 {
		return errors.New("envFrom would import secret values as variables")
	}
	files := 0
	for _, e := range c.Env {
		if slices.Contains(secretEnvNames, e.Name) {
			return fmt.Errorf("env %s carries a secret directly; use %s_FILE", e.Name, e.Name)
		}
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			return fmt.Errorf("env %s uses secretKeyRef; mount the secret and use *_FILE", e.Name)
		}
		base, ok := strings.CutSuffix(e.Name, "_FILE")
		if !ok || !slices.Contains(secretEnvNames, base) {
			if secretWordRe.MatchString(e.Name) {
				return fmt.Errorf("env %s looks like a secret but is not a known *_FILE variable", e.Name)
			}
			continue
		}
		files++
		m, v := mountOf(ps, c, e.Value)
		if m == nil || v == nil || v.Secret == nil {
			return fmt.Errorf("env %s=%s is not under a secret volume mount", e.Name, e.Value)
		}
		if mode := v.Secret.DefaultMode; mode == nil || *mode&0o007 != 0 {
			return fmt.Errorf("secret volume %s is world-readable; set defaultMode 0440", v.Name)
		}
		if v.Secret.SecretName != b.secret.Name {
			return fmt.Errorf("env %s reads secret %q, want %q", e.Name, v.Secret.SecretName, b.secret.Name)
		}
		if key := path.Base(e.Value); !secretHasKey(b.secret, key) {
			return fmt.Errorf("env %s reads key %q missing from %s", e.Name, key, b.secret.Name)
		}
	}
	if files == 0 {
		return errors.New("no *_FILE secret variables set")
	}
	return nil
}

func argValue(args []string, flag string) (string, bool) {
	for i, a := range args {
		if a == flag && i+1 < len(args) {
			return args[i+1], true
		}
		if v, ok := strings.CutPrefix(a, flag+"="); ok {
			return v, true
		}
	}
	return "", false
}

func checkConfigFromConfigMap(ps *corev1.PodSpec, b bundle) error {
	c, err := mainContainer(ps)
	if err != nil {
		return err
	}
	p, ok := argValue(c.Args, "--config")
	if !ok {
		return errors.New("args have no --config")
	}
	if p != "/etc/cvs/config.yaml" {
		return fmt.Errorf("--config %s, want /etc/cvs/config.yaml", p)
	}
	m, v := mountOf(ps, c, p)
	if m == nil || v == nil || v.ConfigMap == nil {
		return fmt.Errorf("--config %s is not mounted from a ConfigMap", p)
	}
	if v.ConfigMap.Name != b.cm.Name {
		return fmt.Errorf("config volume uses ConfigMap %q, want %q", v.ConfigMap.Name, b.cm.Name)
	}
	key := m.SubPath
	if key == "" {
		key = path.Base(p)
	}
	if _, ok := b.cm.Data[key]; !ok {
		return fmt.Errorf("ConfigMap %s has no key %q", b.cm.Name, key)
	}
	return nil
}

// checkStateDirWritable: with a read-only root the configured state_dir
// (report.json, audit.log, lock) needs its own writable volume.
func checkStateDirWritable(ps *corev1.PodSpec, b bundle) error {
	c, err := mainContainer(ps)
	if err != nil {
		return err
	}
	cfg, err := parseConfig(b.cm)
	if err != nil {
		return err
	}
	dir, _ := cfg["state_dir"].(string)
	if dir == "" {
		dir = "/var/lib/condeco-visitor-sync"
	}
	m, v := mountOf(ps, c, dir)
	if m == nil || v == nil {
		return fmt.Errorf("state_dir %s has no volume", dir)
	}
	if m.ReadOnly || v.ConfigMap != nil || v.Secret != nil {
		return fmt.Errorf("state_dir %s is mounted read-only", dir)
	}
	return nil
}

type podCheck struct {
	name string
	fn   func(*corev1.PodSpec, bundle) error
	// breaks turns a good pod spec into one the check must reject.
	breaks func(*corev1.PodSpec)
}

func ctr(ps *corev1.PodSpec) *corev1.Container { return &ps.Containers[0] }

var podChecks = []podCheck{
	{"runAsNonRoot", checkRunAsNonRoot, func(ps *corev1.PodSpec) {
		f := false
		ctr(ps).SecurityContext.RunAsNonRoot = &f
	}},
	{"readOnlyRootFilesystem", checkReadOnlyRoot, func(ps *corev1.PodSpec) {
		ctr(ps).SecurityContext.ReadOnlyRootFilesystem = nil
	}},
	{"no privilege escalation", checkNoPrivilege, func(ps *corev1.PodSpec) {
		ctr(ps).SecurityContext.AllowPrivilegeEscalation = nil
	}},
	{"drop ALL capabilities", checkDropAllCaps, func(ps *corev1.PodSpec) {
		ctr(ps).SecurityContext.Capabilities.Add = []corev1.Capability{"NET_ADMIN"}
	}},
	{"seccomp RuntimeDefault", checkSeccomp, func(ps *corev1.PodSpec) {
		ctr(ps).SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}
	}},
	{"resources set", checkResources, func(ps *corev1.PodSpec) {
		delete(ctr(ps).Resources.Limits, corev1.ResourceMemory)
	}},
	{"secret envs use _FILE", checkSecretEnvs, func(ps *corev1.PodSpec) {
		ctr(ps).Env = append(ctr(ps).Env, corev1.EnvVar{Name: "CVS_SCIM_TOKEN", Value: "abc"})
	}},
	{"secret files not world-readable", checkSecretEnvs, func(ps *corev1.PodSpec) {
		for i := range ps.Volumes {
			if ps.Volumes[i].Secret != nil {
				ps.Volumes[i].Secret.DefaultMode = nil
			}
		}
	}},
	{"config from ConfigMap", checkConfigFromConfigMap, func(ps *corev1.PodSpec) {
		ctr(ps).Args = []string{"--config", "/etc/elsewhere.yaml"}
	}},
	{"grace covers drain and report", checkGrace, func(ps *corev1.PodSpec) {
		ps.TerminationGracePeriodSeconds = nil
	}},
	{"state_dir writable", checkStateDirWritable, func(ps *corev1.PodSpec) {
		for i := range ctr(ps).VolumeMounts {
			ctr(ps).VolumeMounts[i].ReadOnly = true
		}
	}},
}

func podSpecs(t *testing.T) map[string]*corev1.PodSpec {
	return map[string]*corev1.PodSpec{
		"cronjob":    &only[batchv1.CronJob](t, "cronjob.yaml").Spec.JobTemplate.Spec.Template.Spec,
		"deployment": &only[appsv1.Deployment](t, "deployment.yaml").Spec.Template.Spec,
	}
}

func TestPodSpecs(t *testing.T) {
	b := loadBundle(t)
	for wl, ps := range podSpecs(t) {
		for _, pc := range podChecks {
			t.Run(wl+"/"+pc.name, func(t *testing.T) {
				if err := pc.fn(ps, b); err != nil {
					t.Error(err)
				}
			})
		}
	}
}

// TestPodChecksCatchBreakage proves each check can fail.
func TestPodChecksCatchBreakage(t *testing.T) {
	b := loadBundle(t)
	for wl, ps := range podSpecs(t) {
		for _, pc := range podChecks {
			t.Run(wl+"/"+pc.name, func(t *testing.T) {
				bad := ps.DeepCopy()
				pc.breaks(bad)
				if err := pc.fn(bad, b); err == nil {
					t.Error("check accepted a broken pod spec")
				}
			})
		}
	}
}

func TestCronJob(t *testing.T) {
	cj := only[batchv1.CronJob](t, "cronjob.yaml")
	job := cj.Spec.JobTemplate.Spec
	ps := job.Template.Spec
	c, err := mainContainer(&ps)
	if err != nil {
		t.Fatal(err)
	}
	failFast := map[int32]bool{}
	if job.PodFailurePolicy != nil {
		for _, r := range job.PodFailurePolicy.Rules {
			if r.Action == batchv1.PodFailurePolicyActionFailJob && r.OnExitCodes != nil &&
				r.OnExitCodes.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn {
				for _, v := range r.OnExitCodes.Values {
					failFast[v] = true
				}
			}
		}
	}
	tests := []struct {
		name string
		ok   bool
		msg  string
	}{
		{"concurrencyPolicy Forbid", cj.Spec.ConcurrencyPolicy == batchv1.ForbidConcurrent,
			fmt.Sprint(cj.Spec.ConcurrencyPolicy)},
		{"schedule nightly 02:00", cj.Spec.Schedule == "0 2 * * *", cj.Spec.Schedule},
		{"timeZone set and valid", cj.Spec.TimeZone != nil && validZone(*cj.Spec.TimeZone), fmt.Sprint(cj.Spec.TimeZone)},
		{"startingDeadlineSeconds set", cj.Spec.StartingDeadlineSeconds != nil && *cj.Spec.StartingDeadlineSeconds > 0,
			fmt.Sprint(cj.Spec.StartingDeadlineSeconds)},
		{"backoffLimit small", job.BackoffLimit != nil && *job.BackoffLimit <= 2, fmt.Sprint(job.BackoffLimit)},
		{"activeDeadlineSeconds bounds a run", job.ActiveDeadlineSeconds != nil && *job.ActiveDeadlineSeconds > 0,
			fmt.Sprint(job.ActiveDeadlineSeconds)},
		{"restartPolicy Never", ps.RestartPolicy == corev1.RestartPolicyNever, string(ps.RestartPolicy)},
		{"args --run-now", slices.Contains(c.Args, "--run-now"), fmt.Sprint(c.Args)},
		{"no retry on config/safety/guard/auth exits", failFast[2] && failFast[4] && failFast[5] && failFast[7],
			fmt.Sprint(failFast)},
		{"lock busy is retried", !failFast[6], fmt.Sprint(failFast)},
		{"no service account token", ps.AutomountServiceAccountToken != nil && !*ps.AutomountServiceAccountToken,
			fmt.Sprint(ps.AutomountServiceAccountToken)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.ok {
				t.Errorf("got %s", tc.msg)
			}
		})
	}
}

func validZone(z string) bool {
	_, err := time.LoadLocation(z)
	return z != "" && err == nil
}

func TestDeployment(t *testing.T) {
	d := only[appsv1.Deployment](t, "deployment.yaml")
	svc := only[corev1.Service](t, "deployment.yaml")
	cfg, err := parseConfig(loadBundle(t).cm)
	if err != nil {
		t.Fatal(err)
	}
	ps := d.Spec.Template.Spec
	c, err := mainContainer(&ps)
	if err != nil {
		t.Fatal(err)
	}
	listen, _ := cfg["metrics_listen"].(string)
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		t.Fatalf("metrics_listen %q: %v", listen, err)
	}
	portNamed := func(name string) int32 {
		for _, p := range c.Ports {
			if p.Name == name {
				return p.ContainerPort
			}
		}
		return 0
	}
	probeOK := func(p *corev1.Probe, want string) bool {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != want {
			return false
		}
		if p.HTTPGet.Port.StrVal != "" {
			return portNamed(p.HTTPGet.Port.StrVal) == 9464
		}
		return p.HTTPGet.Port.IntVal == 9464
	}
	selected := true
	for k, v := range svc.Spec.Selector {
		if d.Spec.Template.Labels[k] != v {
			selected = false
		}
	}
	tests := []struct {
		name string
		ok   bool
		msg  string
	}{
		{"replicas 1", d.Spec.Replicas != nil && *d.Spec.Replicas == 1, fmt.Sprint(d.Spec.Replicas)},
		{"strategy Recreate", d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType, string(d.Spec.Strategy.Type)},
		{"daemon mode (no --run-now)", !slices.Contains(c.Args, "--run-now"), fmt.Sprint(c.Args)},
		{"containerPort 9464", portNamed("metrics") == 9464, fmt.Sprint(c.Ports)},
		{"metrics_listen on all interfaces", host == "0.0.0.0" && port == "9464", listen},
		{"liveness /healthz", probeOK(c.LivenessProbe, "/healthz"), fmt.Sprint(c.LivenessProbe)},
		{"readiness /readyz", probeOK(c.ReadinessProbe, "/readyz"), fmt.Sprint(c.ReadinessProbe)},
		{"service selects the pod", len(svc.Spec.Selector) > 0 && selected, fmt.Sprint(svc.Spec.Selector)},
		{"service publishes not-ready pods", svc.Spec.PublishNotReadyAddresses, "false"},
		{"service targets metrics port", len(svc.Spec.Ports) == 1 && svc.Spec.Ports[0].TargetPort.StrVal == "metrics",
			fmt.Sprint(svc.Spec.Ports)},
		{"selector matches template", d.Spec.Selector != nil &&
			labelsMatch(d.Spec.Selector.MatchLabels, d.Spec.Template.Labels), fmt.Sprint(d.Spec.Selector)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.ok {
				t.Errorf("got %s", tc.msg)
			}
		})
	}
}

func labelsMatch(sel, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func parseConfig(cm *corev1.ConfigMap) (map[string]any, error) {
	raw, ok := cm.Data["config.yaml"]
	if !ok {
		return nil, fmt.Errorf("ConfigMap %s has no config.yaml", cm.Name)
	}
	var cfg map[string]any
	dec := yamlv3.NewDecoder(strings.NewReader(raw))
	if err := dec.Decode(&cfg); err != nil {
		return nil, fmt.Errorf("parsing config.yaml: %w", err)
	}
	return cfg, nil
}

// checkConfigNoSecrets rejects unknown keys, secret-looking keys and any
// value that repeats a secret from the Secret.
func checkConfigNoSecrets(raw string, cfg map[string]any, secretValues []string) error {
	for k, v := range cfg {
		if !slices.Contains(yamlKeys(), k) {
			return fmt.Errorf("unknown config key %q", k)
		}
		if secretWordRe.MatchString(k) && k != "scim_token_url" {
			return fmt.Errorf("config key %q looks like a secret", k)
		}
		if s, ok := v.(string); ok && regexp.MustCompile(`(?i)password\s*=`).MatchString(s) {
			return fmt.Errorf("config key %q holds a DSN with a password", k)
		}
	}
	for _, s := range secretValues {
		if s != "" && strings.Contains(raw, s) {
			return fmt.Errorf("config repeats a value from the Secret")
		}
	}
	return nil
}

func TestConfigMapHasNoSecrets(t *testing.T) {
	b := loadBundle(t)
	var secretValues []string
	for _, v := range b.secret.StringData {
		secretValues = append(secretValues, v)
	}
	raw := b.cm.Data["config.yaml"]
	cfg, err := parseConfig(b.cm)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		raw     string
		cfg     map[string]any
		wantErr bool
	}{
		{"shipped configmap", raw, cfg, false},
		{"unknown key", "", map[string]any{"scim_urll": "x"}, true},
		{"password key", "", map[string]any{"condeco_password": "x"}, true},
		{"dsn with password", "", map[string]any{"condeco_host": "sqlserver://u:p@h?password=x"}, true},
		{"secret value pasted", "scim_url: " + secretValues[0], map[string]any{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checkConfigNoSecrets(tc.raw, tc.cfg, secretValues)
			if (err != nil) != tc.wantErr {
				t.Errorf("err = %v, wantErr %v", err, tc.wantErr)
			}
		})
	}
	for k := range b.cm.Data {
		if k != "config.yaml" {
			t.Errorf("unexpected ConfigMap key %q", k)
		}
	}
}

func TestSecretExampleIsPlaceholder(t *testing.T) {
	s := only[corev1.Secret](t, "secret.example.yaml")
	if len(s.Data) > 0 {
		t.Error("use stringData: base64 data hides whether a real value was committed")
	}
	if len(s.StringData) == 0 {
		t.Fatal("no stringData")
	}
	for k, v := range s.StringData {
		if !strings.HasPrefix(v, "REPLACE-WITH-") {
			t.Errorf("key %s: value is not a REPLACE-WITH- placeholder", k)
		}
	}
}

// state_dir must outlive the pod: the target and first-sync records and
// the audit log are lost on an emptyDir. Both workloads mount the claim
// pvc.yaml defines.
func TestStateDirOnThePersistentVolumeClaim(t *testing.T) {
	pvc := only[corev1.PersistentVolumeClaim](t, "pvc.yaml")
	if len(pvc.Spec.AccessModes) != 1 || pvc.Spec.AccessModes[0] != corev1.ReadWriteOnce {
		t.Errorf("access modes %v, want ReadWriteOnce", pvc.Spec.AccessModes)
	}
	cj := only[batchv1.CronJob](t, "cronjob.yaml")
	dep := only[appsv1.Deployment](t, "deployment.yaml")
	for name, vols := range map[string][]corev1.Volume{"cronjob.yaml": cj.Spec.JobTemplate.Spec.Template.Spec.Volumes, "deployment.yaml": dep.Spec.Template.Spec.Volumes} {
		found := false
		for _, v := range vols {
			if v.Name != "state" {
				continue
			}
			found = true
			if v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != pvc.Name || v.EmptyDir != nil {
				t.Errorf("%s: volume state is %+v, want the claim %s", name, v.VolumeSource, pvc.Name)
			}
		}
		if !found {
			t.Errorf("%s: no volume state", name)
		}
	}
}
