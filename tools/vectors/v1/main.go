// Command v1 prints privval test vectors computed by CometBFT v1.0 as JSON.
//
// Run it from this directory: go run . > ../../../crates/privval/tests/vectors/v1_0.json
package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"time"

	privvalproto "github.com/cometbft/cometbft/api/cometbft/privval/v1"
	cmtproto "github.com/cometbft/cometbft/api/cometbft/types/v1"
	"github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/crypto/tmhash"
	"github.com/cometbft/cometbft/libs/protoio"
	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/types"
	"github.com/cosmos/gogoproto/proto"
)

const (
	cometbftVersion = "v1.0.1"
	line            = "v1.0"
	chainID         = "bulwark-test-1"
	// Same value as the unexported maxRemoteSignerMsgSize in privval/signer_endpoint.go.
	maxFrameSize = 1024 * 10
)

type jsonTimestamp struct {
	Seconds int64 `json:"seconds"`
	Nanos   int32 `json:"nanos"`
}

type jsonPartSetHeader struct {
	Total uint32 `json:"total"`
	Hash  string `json:"hash"`
}

type jsonBlockID struct {
	Hash          string            `json:"hash"`
	PartSetHeader jsonPartSetHeader `json:"part_set_header"`
}

type jsonVote struct {
	Type               int32         `json:"type"`
	Height             int64         `json:"height"`
	Round              int32         `json:"round"`
	BlockID            jsonBlockID   `json:"block_id"`
	Timestamp          jsonTimestamp `json:"timestamp"`
	ValidatorAddress   string        `json:"validator_address"`
	ValidatorIndex     int32         `json:"validator_index"`
	Signature          string        `json:"signature"`
	Extension          string        `json:"extension"`
	ExtensionSignature string        `json:"extension_signature"`
}

type jsonProposal struct {
	Type      int32         `json:"type"`
	Height    int64         `json:"height"`
	Round     int32         `json:"round"`
	PolRound  int32         `json:"pol_round"`
	BlockID   jsonBlockID   `json:"block_id"`
	Timestamp jsonTimestamp `json:"timestamp"`
	Signature string        `json:"signature"`
}

type voteVector struct {
	Name               string   `json:"name"`
	ChainID            string   `json:"chain_id"`
	Vote               jsonVote `json:"vote"`
	SignBytes          string   `json:"sign_bytes"`
	ExtensionSignBytes string   `json:"extension_sign_bytes"`
}

type proposalVector struct {
	Name      string       `json:"name"`
	ChainID   string       `json:"chain_id"`
	Proposal  jsonProposal `json:"proposal"`
	SignBytes string       `json:"sign_bytes"`
}

type messageVector struct {
	Name string `json:"name"`
	// "request" (node to signer) or "response" (signer to node).
	Kind string `json:"kind"`
	// Delimited privval.Message: uvarint length prefix, then the message.
	Frame string `json:"frame"`
	// Name of the vote or proposal vector the message carries, if any.
	Vote     string `json:"vote,omitempty"`
	Proposal string `json:"proposal,omitempty"`
}

type vectors struct {
	Line         string           `json:"line"`
	CometBFT     string           `json:"cometbft"`
	MaxFrameSize int              `json:"max_frame_size"`
	ChainID      string           `json:"chain_id"`
	PubKeyType   string           `json:"pub_key_type"`
	PubKey       string           `json:"pub_key"`
	Votes        []voteVector     `json:"votes"`
	Proposals    []proposalVector `json:"proposals"`
	Messages     []messageVector  `json:"messages"`
}

func h(b []byte) string { return hex.EncodeToString(b) }

func ts(t time.Time) jsonTimestamp {
	return jsonTimestamp{Seconds: t.Unix(), Nanos: int32(t.Nanosecond())}
}

func blockID(b cmtproto.BlockID) jsonBlockID {
	return jsonBlockID{
		Hash:          h(b.Hash),
		PartSetHeader: jsonPartSetHeader{Total: b.PartSetHeader.Total, Hash: h(b.PartSetHeader.Hash)},
	}
}

func voteJSON(v *cmtproto.Vote) jsonVote {
	return jsonVote{
		Type:               int32(v.Type),
		Height:             v.Height,
		Round:              v.Round,
		BlockID:            blockID(v.BlockID),
		Timestamp:          ts(v.Timestamp),
		ValidatorAddress:   h(v.ValidatorAddress),
		ValidatorIndex:     v.ValidatorIndex,
		Signature:          h(v.Signature),
		Extension:          h(v.Extension),
		ExtensionSignature: h(v.ExtensionSignature),
	}
}

func proposalJSON(p *cmtproto.Proposal) jsonProposal {
	return jsonProposal{
		Type:      int32(p.Type),
		Height:    p.Height,
		Round:     p.Round,
		PolRound:  p.PolRound,
		BlockID:   blockID(p.BlockID),
		Timestamp: ts(p.Timestamp),
		Signature: h(p.Signature),
	}
}

func frame(msg privvalproto.Message) string {
	var buf bytes.Buffer
	if _, err := protoio.NewDelimitedWriter(&buf).WriteMsg(&msg); err != nil {
		panic(err)
	}
	return h(buf.Bytes())
}

func hash(s string) []byte { return tmhash.Sum([]byte(s)) }

func fullBlockID(s string, total uint32) cmtproto.BlockID {
	return cmtproto.BlockID{
		Hash:          hash("block " + s),
		PartSetHeader: cmtproto.PartSetHeader{Total: total, Hash: hash("parts " + s)},
	}
}

type namedVote struct {
	name string
	vote cmtproto.Vote
}

type namedProposal struct {
	name     string
	proposal cmtproto.Proposal
}

func main() {
	privKey := ed25519.GenPrivKeyFromSecret([]byte("bulwark privval test vectors"))
	pv := types.NewMockPVWithParams(privKey, false, false)
	failing := types.NewErroringMockPV()
	pubKey := privKey.PubKey()
	addr := pubKey.Address()
	stamp := time.Date(2024, 5, 1, 12, 34, 56, 789012345, time.UTC)

	votes := []namedVote{
		{"prevote_nil_zero_time", cmtproto.Vote{
			Type: cmtproto.PrevoteType, Height: 1, Round: 0,
			ValidatorAddress: addr, ValidatorIndex: 0,
		}},
		{"prevote_block", cmtproto.Vote{
			Type: cmtproto.PrevoteType, Height: 12345, Round: 0,
			BlockID: fullBlockID("a", 1), Timestamp: stamp,
			ValidatorAddress: addr, ValidatorIndex: 7,
		}},
		{"prevote_unix_epoch_round_2", cmtproto.Vote{
			Type: cmtproto.PrevoteType, Height: 99, Round: 2,
			BlockID: fullBlockID("b", 3), Timestamp: time.Unix(0, 0).UTC(),
			ValidatorAddress: addr, ValidatorIndex: 1,
		}},
		{"precommit_nil_round_1", cmtproto.Vote{
			Type: cmtproto.PrecommitType, Height: 1000, Round: 1,
			Timestamp: stamp.Add(time.Second), ValidatorAddress: addr, ValidatorIndex: 3,
		}},
		{"precommit_block_no_extension", cmtproto.Vote{
			Type: cmtproto.PrecommitType, Height: 1000, Round: 0,
			BlockID: fullBlockID("c", 2), Timestamp: stamp.Add(2 * time.Second),
			ValidatorAddress: addr, ValidatorIndex: 3,
		}},
		{"precommit_block_extension_round_5", cmtproto.Vote{
			Type: cmtproto.PrecommitType, Height: 1<<40 + 7, Round: 5,
			BlockID: fullBlockID("d", 70000), Timestamp: stamp.Add(3 * time.Millisecond),
			ValidatorAddress: addr, ValidatorIndex: 250,
			Extension: []byte("vote extension from the application"),
		}},
		{"precommit_hash_only_block_id", cmtproto.Vote{
			Type: cmtproto.PrecommitType, Height: 5, Round: 0,
			BlockID: cmtproto.BlockID{Hash: hash("hash only")}, Timestamp: stamp,
			ValidatorAddress: addr,
		}},
	}

	proposals := []namedProposal{
		{"proposal_pol_none", cmtproto.Proposal{
			Type: cmtproto.ProposalType, Height: 12345, Round: 0, PolRound: -1,
			BlockID: fullBlockID("a", 1), Timestamp: stamp,
		}},
		{"proposal_pol_round_2", cmtproto.Proposal{
			Type: cmtproto.ProposalType, Height: 1<<33 + 1, Round: 5, PolRound: 2,
			BlockID: fullBlockID("e", 9), Timestamp: stamp.Add(time.Hour),
		}},
		{"proposal_zero_time_nil_block", cmtproto.Proposal{
			Type: cmtproto.ProposalType, Height: 2, Round: 1, PolRound: 0,
		}},
	}

	out := vectors{
		Line: line, CometBFT: cometbftVersion, MaxFrameSize: maxFrameSize,
		ChainID: chainID, PubKeyType: pubKey.Type(), PubKey: h(pubKey.Bytes()),
	}

	handle := func(pv types.PrivValidator, req privvalproto.Message, chain string) privvalproto.Message {
		res, _ := privval.DefaultValidationRequestHandler(pv, req, chain)
		return res
	}
	add := func(name, kind string, msg privvalproto.Message, vote, proposal string) {
		out.Messages = append(out.Messages, messageVector{
			Name: name, Kind: kind, Frame: frame(msg), Vote: vote, Proposal: proposal,
		})
	}

	pubReq := privvalproto.Message{Sum: &privvalproto.Message_PubKeyRequest{
		PubKeyRequest: &privvalproto.PubKeyRequest{ChainId: chainID},
	}}
	add("pub_key_request", "request", pubReq, "", "")
	add("pub_key_response", "response", handle(pv, pubReq, chainID), "", "")
	add("pub_key_response_error", "response", handle(pv, pubReq, "other-chain"), "", "")
	add("pub_key_response_secp256k1", "response", privvalproto.Message{Sum: &privvalproto.Message_PubKeyResponse{
		PubKeyResponse: &privvalproto.PubKeyResponse{
			PubKeyType: "secp256k1", PubKeyBytes: append([]byte{0x02}, hash("secp256k1 key")...),
		},
	}}, "", "")

	for _, nv := range votes {
		v := nv.vote
		out.Votes = append(out.Votes, voteVector{
			Name: nv.name, ChainID: chainID, Vote: voteJSON(&v),
			SignBytes:          h(types.VoteSignBytes(chainID, &v)),
			ExtensionSignBytes: h(types.VoteExtensionSignBytes(chainID, &v)),
		})
		req := privvalproto.Message{Sum: &privvalproto.Message_SignVoteRequest{
			SignVoteRequest: &privvalproto.SignVoteRequest{Vote: proto.Clone(&v).(*cmtproto.Vote), ChainId: chainID},
		}}
		add("sign_vote_request/"+nv.name, "request", req, nv.name, "")
		res := handle(pv, req, chainID)
		if res.GetSignedVoteResponse() == nil || res.GetSignedVoteResponse().Error != nil {
			panic(fmt.Sprintf("signing %s failed: %v", nv.name, res))
		}
		add("signed_vote_response/"+nv.name, "response", res, nv.name, "")
	}
	voteReq := privvalproto.Message{Sum: &privvalproto.Message_SignVoteRequest{
		SignVoteRequest: &privvalproto.SignVoteRequest{Vote: proto.Clone(&votes[1].vote).(*cmtproto.Vote), ChainId: chainID},
	}}
	add("signed_vote_response_error/wrong_chain", "response", handle(pv, voteReq, "other-chain"), "", "")
	add("signed_vote_response_error/signer_failed", "response", handle(failing, voteReq, chainID), "", "")

	for _, np := range proposals {
		p := np.proposal
		out.Proposals = append(out.Proposals, proposalVector{
			Name: np.name, ChainID: chainID, Proposal: proposalJSON(&p),
			SignBytes: h(types.ProposalSignBytes(chainID, &p)),
		})
		req := privvalproto.Message{Sum: &privvalproto.Message_SignProposalRequest{
			SignProposalRequest: &privvalproto.SignProposalRequest{Proposal: proto.Clone(&p).(*cmtproto.Proposal), ChainId: chainID},
		}}
		add("sign_proposal_request/"+np.name, "request", req, "", np.name)
		add("signed_proposal_response/"+np.name, "response", handle(pv, req, chainID), "", np.name)
	}
	propReq := privvalproto.Message{Sum: &privvalproto.Message_SignProposalRequest{
		SignProposalRequest: &privvalproto.SignProposalRequest{Proposal: proto.Clone(&proposals[0].proposal).(*cmtproto.Proposal), ChainId: chainID},
	}}
	add("signed_proposal_response_error/wrong_chain", "response", handle(pv, propReq, "other-chain"), "", "")
	add("signed_proposal_response_error/signer_failed", "response", handle(failing, propReq, chainID), "", "")

	// Only in v1: the node may ask the signer not to sign the vote extension.
	skipReq := privvalproto.Message{Sum: &privvalproto.Message_SignVoteRequest{
		SignVoteRequest: &privvalproto.SignVoteRequest{
			Vote: proto.Clone(&votes[5].vote).(*cmtproto.Vote), ChainId: chainID, SkipExtensionSigning: true,
		},
	}}
	add("sign_vote_request_skip_extension/"+votes[5].name, "request", skipReq, votes[5].name, "")
	add("signed_vote_response_skip_extension/"+votes[5].name, "response", handle(pv, skipReq, chainID), votes[5].name, "")

	// Only in v1: SignBytes.
	signBytesReq := privvalproto.Message{Sum: &privvalproto.Message_SignBytesRequest{
		SignBytesRequest: &privvalproto.SignBytesRequest{Value: []byte("arbitrary bytes to sign")},
	}}
	add("sign_bytes_request", "request", signBytesReq, "", "")
	add("sign_bytes_response", "response", handle(pv, signBytesReq, chainID), "", "")
	add("sign_bytes_response_error", "response", privvalproto.Message{Sum: &privvalproto.Message_SignBytesResponse{
		SignBytesResponse: &privvalproto.SignBytesResponse{
			Error: &privvalproto.RemoteSignerError{Code: 1, Description: "signing bytes is disabled"},
		},
	}}, "", "")

	ping := privvalproto.Message{Sum: &privvalproto.Message_PingRequest{PingRequest: &privvalproto.PingRequest{}}}
	add("ping_request", "request", ping, "", "")
	add("ping_response", "response", handle(pv, ping, chainID), "", "")

	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		panic(err)
	}
}
