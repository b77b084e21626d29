package dockerapi

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"
)

// Connect is a "network connect" event: a container joined a network
// (docker run, docker start, docker network connect). The engine emits it
// right after the driver's Join has returned, before the container's
// process starts.
type Connect struct {
	ContainerID string
	NetworkID   string
	Time        time.Time // when the engine emitted it
}

// WatchConnects streams the engine's network connect events to fn, one at
// a time, until the stream fails or ctx ends; it then returns the error
// (ctx.Err() when ctx ended). subscribed, if not nil, is called once the
// engine has accepted the subscription: events after that are not missed.
// Callers resubscribe after an error; events emitted in between are lost,
// so they need another way (a network inspect) to catch up.
func (c *Client) WatchConnects(ctx context.Context, subscribed func(), fn func(Connect)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	f := make(client.Filters).Add("type", string(events.NetworkEventType)).Add("event", string(events.ActionConnect))
	res := c.c.Events(ctx, client.EventsListOptions{Filters: f})
	if subscribed != nil {
		select {
		case err := <-res.Err: // the subscription itself failed
			return c.streamErr(ctx, err)
		default:
			subscribed()
		}
	}
	for {
		select {
		case m := <-res.Messages:
			if ev, ok := connectOf(m); ok {
				fn(ev)
			}
		case err := <-res.Err:
			return c.streamErr(ctx, err)
		}
	}
}

func (c *Client) streamErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err == nil {
		err = errors.New("stream closed")
	}
	return fmt.Errorf("docker events via %s: %w", c.host, err)
}

func connectOf(m events.Message) (Connect, bool) {
	if m.Type != events.NetworkEventType || m.Action != events.ActionConnect {
		return Connect{}, false
	}
	ev := Connect{ContainerID: m.Actor.Attributes["container"], NetworkID: m.Actor.ID}
	if ev.ContainerID == "" || ev.NetworkID == "" {
		return Connect{}, false
	}
	switch {
	case m.TimeNano != 0:
		ev.Time = time.Unix(0, m.TimeNano)
	case m.Time != 0:
		ev.Time = time.Unix(m.Time, 0)
	}
	return ev, true
}
