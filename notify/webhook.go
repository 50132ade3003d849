package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// webhookRetries is "a couple of retries": enough to ride out a receiver's
// restart, few enough that a dead receiver does not hold up the daemon.
const webhookRetries = 2

// payload is the JSON body. "text" is what chat receivers (Slack,
// Mattermost, Teams workflows) display; the rest is for automation.
type payload struct {
	Text    string   `json:"text"`
	Subject string   `json:"subject"`
	Reasons []string `json:"reasons"`
	Summary
}

// webhook POSTs the summary as JSON. The URL is treated as a secret: chat
// webhooks carry their token in the path, so errors name only the host.
type webhook struct {
	url    string
	host   string
	client *retryablehttp.Client
	ua     string
}

func newWebhook(rawURL, ua string, timeout time.Duration) *webhook {
	c := retryablehttp.NewClient()
	c.RetryMax = webhookRetries
	c.RetryWaitMin = 500 * time.Millisecond
	c.RetryWaitMax = 5 * time.Second
	c.Logger = nil // its default logger prints the full URL
	c.ErrorHandler = retryablehttp.PassthroughErrorHandler
	// Each attempt gets at most 10s so that the retries fit in timeout.
	c.HTTPClient.Timeout = min(timeout, 10*time.Second)
	// A redirect would turn the POST into a GET somewhere else; a receiver
	// that moved is a configuration error to report, not to follow.
	c.HTTPClient.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	host := "webhook"
	if u, err := url.Parse(rawURL); err == nil {
		host = u.Host
	}
	if ua == "" {
		ua = "condeco-visitor-sync"
	}
	return &webhook{url: rawURL, host: host, client: c, ua: ua}
}

func (w *webhook) name() string { return "webhook " + w.host }

func (w *webhook) send(ctx context.Context, m message) error {
	body, err := json.Marshal(payload{Text: m.Text, Subject: m.Subject, Reasons: m.Reasons, Summary: m.Summary})
	if err != nil {
		return err
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return errors.New("building request (check notify_webhook_url)")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", w.ua)
	resp, err := w.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the URL
		}
		return fmt.Errorf("POST to %s: %w", w.host, err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("POST to %s: status %d after up to %d attempts: %s", w.host, resp.StatusCode, webhookRetries+1, oneLine(string(snippet)))
	}
	return nil
}
