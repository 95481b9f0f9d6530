package admin

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

func (s *server) createAnsweringRule(w http.ResponseWriter, r *http.Request) error {
	ext, err := pathExtension(r)
	if err != nil {
		return err
	}
	in := defaultAnsweringRuleInput()
	if err := readJSONNullable(w, r, &in, answeringRuleReadOnly, answeringRuleNullable); err != nil {
		return err
	}
	rule, err := s.backend.CreateAnsweringRule(r.Context(), ext, in)
	if err != nil {
		return fmt.Errorf("create answering rule of user %s: %w", ext, err)
	}
	w.Header().Set("Location", "/api/v1/users/"+url.PathEscape(ext)+
		"/answering-rules/"+strconv.FormatInt(rule.ID, 10))
	return writeJSON(w, http.StatusCreated, ruleOut(rule))
}

func (s *server) listAnsweringRules(w http.ResponseWriter, r *http.Request) error {
	ext, err := pathExtension(r)
	if err != nil {
		return err
	}
	rules, err := s.backend.ListAnsweringRules(r.Context(), ext)
	if err != nil {
		return fmt.Errorf("list answering rules of user %s: %w", ext, err)
	}
	return writeRules(w, rules)
}

func (s *server) getAnsweringRule(w http.ResponseWriter, r *http.Request) error {
	ext, id, err := pathRule(r)
	if err != nil {
		return err
	}
	rule, err := s.backend.GetAnsweringRule(r.Context(), ext, id)
	if err != nil {
		return fmt.Errorf("get answering rule %d of user %s: %w", id, ext, err)
	}
	return writeJSON(w, http.StatusOK, ruleOut(rule))
}

func (s *server) updateAnsweringRule(w http.ResponseWriter, r *http.Request) error {
	ext, id, err := pathRule(r)
	if err != nil {
		return err
	}
	var p AnsweringRulePatch
	if err := readJSONNullable(w, r, &p, answeringRuleReadOnly, answeringRuleNullable); err != nil {
		return err
	}
	rule, err := s.backend.UpdateAnsweringRule(r.Context(), ext, id, p)
	if err != nil {
		return fmt.Errorf("update answering rule %d of user %s: %w", id, ext, err)
	}
	return writeJSON(w, http.StatusOK, ruleOut(rule))
}

func (s *server) deleteAnsweringRule(w http.ResponseWriter, r *http.Request) error {
	ext, id, err := pathRule(r)
	if err != nil {
		return err
	}
	if err := s.backend.DeleteAnsweringRule(r.Context(), ext, id); err != nil {
		return fmt.Errorf("delete answering rule %d of user %s: %w", id, ext, err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ruleOrder is the body of PUT .../answering-rules/order.
type ruleOrder struct {
	IDs []int64 `json:"ids"`
}

func (s *server) reorderAnsweringRules(w http.ResponseWriter, r *http.Request) error {
	ext, err := pathExtension(r)
	if err != nil {
		return err
	}
	var in ruleOrder
	if err := readJSON(w, r, &in, nil); err != nil {
		return err
	}
	if in.IDs == nil {
		return Invalid("ids", "required", "ids must list the user's answering rule ids in their new order")
	}
	rules, err := s.backend.ReorderAnsweringRules(r.Context(), ext, in.IDs)
	if err != nil {
		return fmt.Errorf("reorder answering rules of user %s: %w", ext, err)
	}
	return writeRules(w, rules)
}

func writeRules(w http.ResponseWriter, rules []AnsweringRule) error {
	out := make([]AnsweringRule, len(rules))
	for i, rule := range rules {
		out[i] = ruleOut(rule)
	}
	return writeJSON(w, http.StatusOK, struct {
		AnsweringRules []AnsweringRule `json:"answering_rules"`
	}{out})
}

// ruleOut prepares a rule for the wire: [] rather than null for a
// simultaneous ring without destinations, and times in UTC. It copies what
// it changes, so the backend's values are left alone.
func ruleOut(rule AnsweringRule) AnsweringRule {
	if rule.SimRing != nil && rule.SimRing.Destinations == nil {
		sr := *rule.SimRing
		sr.Destinations = []SimRingDestination{}
		rule.SimRing = &sr
	}
	rule.CreatedAt = rule.CreatedAt.UTC()
	rule.UpdatedAt = rule.UpdatedAt.UTC()
	return rule
}

// pathRule returns the {extension} and {id} of the route. An id that is
// not a positive integer answers 404 without asking the backend.
func pathRule(r *http.Request) (string, int64, error) {
	ext, err := pathExtension(r)
	if err != nil {
		return "", 0, err
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return "", 0, NotFound("answering rule")
	}
	return ext, id, nil
}
