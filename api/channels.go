package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"wangge/geo"
	"wangge/geo/outbox"
)

// This file serves the notification channels (admin only): group robots
// of 企业微信, 钉钉 and 飞书, an SMS gateway and signed webhooks. A channel's
// secret goes in and is never shown again; GET shows the URL with its key
// redacted.

func (s *Server) channelRoutes(v1 router) {
	admin := v1.with(s.require(geo.AccessAdmin))
	ch := endpoint{needs: needChannels}
	admin.GET("/channels", ch, s.listChannels)
	admin.POST("/channels", ch, withBody(s.createChannel))
	admin.PATCH("/channels/:id", ch, withBody(s.updateChannel))
	admin.POST("/channels/:id/test", ch, withOptionalBody(s.testChannel))
}

// listChannels answers GET /v1/channels.
func (s *Server) listChannels(c *gin.Context) error {
	recs, err := s.cfg.Channels.ChannelRecords(c.Request.Context())
	if err != nil {
		return err
	}
	out := make([]outbox.ChannelView, len(recs))
	for i, r := range recs {
		out[i] = outbox.View(r)
	}
	c.JSON(http.StatusOK, gin.H{"channels": out})
	return nil
}

// createChannel answers POST /v1/channels: 201 with the channel.
func (s *Server) createChannel(c *gin.Context, req *outbox.ChannelRequest) error {
	var rec geo.ChannelRecord
	if err := req.Apply(&rec, s.cfg.SecretKey, s.registry.Load(), &s.limits); err != nil {
		return err
	}
	out, err := s.cfg.Channels.CreateChannel(c.Request.Context(), rec, callerName(c), s.cfg.Now().UTC())
	if err != nil {
		return err
	}
	s.channels.forget()
	c.Header("Location", fmt.Sprintf("/v1/channels/%d", out.ID))
	c.JSON(http.StatusCreated, outbox.View(*out))
	return nil
}

// updateChannel answers PATCH /v1/channels/{id}: members present change;
// "enabled": false stops it (messages already written to it are sent
// until they are dead-lettered).
func (s *Server) updateChannel(c *gin.Context, req *outbox.ChannelRequest) error {
	snap := s.registry.Load()
	out, err := s.cfg.Channels.UpdateChannel(c.Request.Context(), pathInt(c, "id"), callerName(c), s.cfg.Now().UTC(),
		func(rec *geo.ChannelRecord) error { return req.Apply(rec, s.cfg.SecretKey, snap, &s.limits) })
	if err != nil {
		return err
	}
	s.channels.forget()
	c.JSON(http.StatusOK, outbox.View(*out))
	return nil
}

// testRequest is the body of POST /v1/channels/{id}/test: for an SMS
// channel, the mobile to send to.
type testRequest struct {
	Phone string `json:"phone"`
}

// testChannel answers POST /v1/channels/{id}/test: a test message goes
// into the outbox for this channel; 202 with its id, whose delivery the
// admin follows in the log and /metrics.
func (s *Server) testChannel(c *gin.Context, req *testRequest) error {
	if s.cfg.Outbox == nil {
		return problemf(TypeUnavailable, http.StatusServiceUnavailable, "the outbox is not available on this server")
	}
	id := pathInt(c, "id")
	recs, err := s.cfg.Channels.ChannelRecords(c.Request.Context())
	if err != nil {
		return err
	}
	var ch *geo.ChannelRecord
	for i := range recs {
		if recs[i].ID == id {
			ch = &recs[i]
		}
	}
	if ch == nil {
		return geo.Errorf(geo.ENOTFOUND, "no channel %d", id)
	}
	phone := strings.TrimSpace(req.Phone)
	if ch.Kind == geo.ChanSMS && !geo.IsMobile(phone) {
		return geo.Invalidf("phone", "an SMS channel is tested with a mainland mobile number (11 digits, 13x–19x)")
	}
	now := s.cfg.Now().UTC()
	m := geo.OutboxMessage{ID: fmt.Sprintf("test-c%d-%d", id, now.UnixNano()), ChannelID: id, Kind: geo.MsgTest,
		To: geo.Recipient{Name: callerName(c), Phone: phone, Role: "admin"}, Title: "网格通知测试",
		Text: "这是一条测试消息：" + ch.Name + " 已接通。", Fields: map[string]string{}}
	if err := s.cfg.Outbox.EnqueueMessages(c.Request.Context(), []geo.OutboxMessage{m}, now); err != nil {
		return err
	}
	c.JSON(http.StatusAccepted, gin.H{"message_id": m.ID, "channel": ch.Name})
	return nil
}

// channelCache holds the channels for routing messages, read again after
// a while or after a change through this server; other replicas' changes
// arrive within its age.
type channelCache struct {
	mu       sync.Mutex
	list     []geo.Channel
	loadedAt time.Time
}

const channelCacheAge = 5 * time.Second

func (cc *channelCache) forget() {
	cc.mu.Lock()
	cc.loadedAt = time.Time{}
	cc.mu.Unlock()
}

// notificationChannels returns the channels messages are routed through:
// none when this server keeps no outbox.
func (s *Server) notificationChannels(ctx context.Context) ([]geo.Channel, error) {
	if s.cfg.Outbox == nil || s.cfg.Channels == nil {
		return nil, nil
	}
	cc := &s.channels
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if time.Since(cc.loadedAt) < channelCacheAge {
		return cc.list, nil
	}
	list, err := s.cfg.Channels.Channels(ctx)
	if err != nil {
		return nil, err
	}
	cc.list, cc.loadedAt = list, time.Now()
	return list, nil
}
